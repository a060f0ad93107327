"""Where a flat optimizer's update runs: a Triton kernel, a compiled fused formula, or eager PyTorch.

All three take the same arguments as the readable per-tensor function (e.g. :func:`adam_`) and
compute the same formula; they differ in how many passes over memory a step makes:

* ``"eager"``: the function itself, a few PyTorch operations, each one a pass over the buffer. Runs anywhere.
* ``"compile"``: ``torch.compile`` of the same formula written for fusion (:mod:`gdbook.torch.optim.fused`),
  one kernel per step. On CUDA it needs Triton (Inductor writes Triton code), on CPU a C++ compiler;
  the first step pays the compilation.
* ``"triton"``: a hand-written kernel (:mod:`gdbook.torch.optim.triton_kernels`) that reads and writes
  every element once. CUDA only, for float32, float16 and bfloat16 parameters (it computes in float32).
* ``"auto"``: triton where it applies, else compile on CUDA when Triton is installed, else eager.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Callable

import torch

BACKENDS = ("auto", "triton", "compile", "eager")
TRITON_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


@functools.cache
def triton_kernels():
    """The module of Triton kernels, or None where Triton cannot be imported."""
    if importlib.util.find_spec("triton") is None:
        return None
    try:
        from . import triton_kernels as module
    except (ImportError, RuntimeError):  # a triton that does not fit this torch: fall back, don't fail
        return None
    return module


def resolve(backend: str, tensors: list[torch.Tensor]) -> str:
    """The backend that runs updates of ``tensors`` (the flat buffers) when ``backend`` is asked for."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    on_cuda = bool(tensors) and all(t.is_cuda for t in tensors)
    triton_fits = on_cuda and all(t.dtype in TRITON_DTYPES for t in tensors) and triton_kernels() is not None
    if backend == "auto":
        return "triton" if triton_fits else "compile" if on_cuda and triton_kernels() is not None else "eager"
    if backend == "triton" and tensors and not triton_fits:
        raise ValueError("backend='triton' needs the triton package and CUDA parameters of dtype "
                         f"{', '.join(map(str, TRITON_DTYPES))}; got "
                         f"{sorted({f'{t.device.type} {t.dtype}' for t in tensors})}")
    return backend


def kernel(eager: Callable, backend: str) -> Callable:
    """The function with the signature of ``eager`` (e.g. ``adam_``) that runs it on ``backend``."""
    if backend == "eager":
        return eager
    if backend == "compile":
        from . import fused

        return getattr(fused, eager.__name__)
    return getattr(triton_kernels(), eager.__name__)

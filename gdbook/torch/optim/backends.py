"""Where a flat optimizer's update runs: torch's fused kernel, a Triton kernel,
a compiled formula, or eager.

All four take the same arguments as the readable per-tensor function (e.g.
:func:`adam_`) and compute the same formula; they differ in how many passes
over memory a step makes and in what they need. Not every update has every
backend: :data:`PROVIDERS` says which have which (:func:`available`).

* ``"eager"``: the function itself, a few PyTorch operations, each one a pass
  over the buffer. Runs anywhere, every update.
* ``"fused"``: torch's own precompiled fused kernel, the one behind
  ``torch.optim.Adam(fused=True)`` (:mod:`gdbook.torch.optim.torch_fused`),
  called once on the whole flat buffer: one multi-threaded pass, nothing to
  compile. Only where torch has such a kernel (Adam, AdamW, SGD). CPU only (on
  CUDA the triton and compile backends serve), float32 and float64 (not
  float16 and bfloat16: torch 2.13's CPU fused SGD skips their updates,
  pytorch/pytorch#191763). Bit for bit the eager SGD; Adam's parameters within
  float round-off of eager (operations in another order).
* ``"compile"``: ``torch.compile`` of the same formula written for fusion
  (:mod:`gdbook.torch.optim.fused`), one kernel per step; every flat
  optimizer has it. On CUDA it needs Triton (Inductor writes Triton code), on
  CPU a C++ compiler; the first step pays the compilation.
* ``"triton"``: a hand-written kernel
  (:mod:`gdbook.torch.optim.triton_kernels`) that reads and writes every
  element once, for Adam, AdamW and SGD. CUDA only, for float32, float16 and
  bfloat16 parameters (it computes in float32).
* ``"auto"``: on CUDA, triton where it applies, else compile when Triton is
  installed, else eager; on CPU, fused where it applies (at the
  memory-bandwidth limit from the first step), else eager. One backend runs all
  of an optimizer's buffers, so it must fit every one of them.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable

import torch

BACKENDS = ("auto", "fused", "triton", "compile", "eager")
FUSED_DTYPES = (torch.float32, torch.float64)
TRITON_DTYPES = (torch.float32, torch.float16, torch.bfloat16)

# The eager functions (by name) that each backend has its own version of, in
# the module that ``kernel`` takes it from; "eager" runs every one. The one
# record of which optimizer has which backend (tests check it against the
# modules): "fused" only where torch has a fused kernel.
PROVIDERS = {
    "fused": ("adam_", "sgd_"),  # torch_fused
    "triton": ("adam_", "sgd_"),  # triton_kernels
    "compile": ("adam_", "sgd_", "lion_", "adamax_", "nadam_"),  # fused
}


@functools.cache
def triton_kernels():
    """The module of Triton kernels, or None where Triton cannot be
    imported."""
    if importlib.util.find_spec("triton") is None:
        return None
    try:
        from . import triton_kernels as module
    except (
        ImportError,
        RuntimeError,
    ):  # a triton that does not fit this torch: fall back, don't fail
        return None
    return module


def _kinds(tensors: list[torch.Tensor]) -> list[str]:
    return sorted({f"{t.device.type} {t.dtype}" for t in tensors})


def available(eager: Callable) -> tuple[str, ...]:
    """The backends that can run the eager function ``eager`` (e.g.
    :func:`adam_`), ``"auto"`` first and ``"eager"`` last."""
    return (
        "auto",
        *(b for b, names in PROVIDERS.items() if eager.__name__ in names),
        "eager",
    )


def resolve(
    backend: str,
    tensors: list[torch.Tensor],
    eager: Callable,
    owner: str = "this optimizer",
) -> str:
    """The backend that runs ``eager`` (the update of the optimizer named
    ``owner``) on ``tensors`` (the flat buffers) when ``backend`` is asked
    for."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    has = available(eager)
    if backend not in has:
        raise ValueError(
            f"{owner} has no backend {backend!r}; its backends are "
            f"{', '.join(map(repr, has))}"
        )
    on_cuda = bool(tensors) and all(t.is_cuda for t in tensors)
    fused_fits = (
        "fused" in has
        and bool(tensors)
        and all(
            t.device.type == "cpu" and t.dtype in FUSED_DTYPES for t in tensors
        )
    )
    triton_fits = (
        "triton" in has
        and on_cuda
        and all(t.dtype in TRITON_DTYPES for t in tensors)
        and triton_kernels() is not None
    )
    if backend == "auto":
        if on_cuda:
            return (
                "triton"
                if triton_fits
                else "compile"
                if triton_kernels() is not None
                else "eager"
            )
        return "fused" if fused_fits else "eager"
    if backend == "fused" and tensors and not fused_fits:
        raise ValueError(
            "backend='fused' needs CPU parameters of dtype "
            f"{', '.join(map(str, FUSED_DTYPES))}; got {_kinds(tensors)}"
        )
    if backend == "triton" and tensors and not triton_fits:
        raise ValueError(
            "backend='triton' needs the triton package and CUDA parameters "
            "of dtype "
            f"{', '.join(map(str, TRITON_DTYPES))}; got {_kinds(tensors)}"
        )
    return backend


def kernel(eager: Callable, backend: str) -> Callable:
    """The function with the signature of ``eager`` (e.g. ``adam_``) that runs
    it on ``backend``."""
    if backend == "eager":
        return eager
    if backend == "fused":
        from . import torch_fused as module
    elif backend == "compile":
        from . import fused as module
    else:
        module = triton_kernels()
    return getattr(module, eager.__name__)

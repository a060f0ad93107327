"""Triton kernels for the flat optimizers: each element of each buffer is read
once and written once.

Adam on float32 moves 28 bytes per parameter (reads p, g, m, v; writes p, m,
v), the least any implementation can, so a step runs at the GPU's memory
bandwidth. Each wrapper takes exactly the arguments of the eager function it
replaces (:func:`~gdbook.torch.optim.adam.adam_`,
:func:`~gdbook.torch.optim.sgd.sgd_`), on 1-D contiguous buffers, and computes
the fused formula of :mod:`gdbook.torch.optim.fused` in float32 from the same
host-side scalars. This module imports triton;
:mod:`gdbook.torch.optim.backends` imports it only where that works.
"""

from __future__ import annotations

import contextlib

import torch
import triton
import triton.language as tl

from .fused import adam_scalars, sgd_scalars

# elements per program: 8 per thread with 4 warps, enough to saturate memory
# bandwidth
BLOCK = 1024
NUM_WARPS = 4


@triton.jit
def _param_and_direction(
    param_ptr,
    grad_ptr,
    n_elements,
    weight_decay,
    MAXIMIZE: tl.constexpr,
    DECAY: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """This program's block of elements: offsets, mask, p and d = grad (negated
    to maximize) plus weight_decay * p, in float32."""
    offsets = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n_elements
    p = tl.load(param_ptr + offsets, mask=mask).to(tl.float32)
    d = tl.load(grad_ptr + offsets, mask=mask).to(tl.float32)
    if MAXIMIZE:
        d = -d
    if DECAY:
        d = d + weight_decay * p
    return offsets, mask, p, d


@triton.jit
def _adam_kernel(
    param_ptr,
    grad_ptr,
    exp_avg_ptr,
    exp_avg_sq_ptr,
    max_exp_avg_sq_ptr,
    n_elements,
    one_minus_beta1,
    beta2,
    one_minus_beta2,
    eps,
    weight_decay,
    param_scale,
    step_size,
    bias_correction2_sqrt,
    MAXIMIZE: tl.constexpr,
    COUPLED_DECAY: tl.constexpr,
    DECOUPLED_DECAY: tl.constexpr,
    AMSGRAD: tl.constexpr,
    BLOCK: tl.constexpr,
):
    offsets, mask, p, d = _param_and_direction(
        param_ptr,
        grad_ptr,
        n_elements,
        weight_decay,
        MAXIMIZE,
        COUPLED_DECAY,
        BLOCK,
    )
    m = tl.load(exp_avg_ptr + offsets, mask=mask).to(tl.float32)
    v = tl.load(exp_avg_sq_ptr + offsets, mask=mask).to(tl.float32)
    if DECOUPLED_DECAY:
        p = p * param_scale
    m = m + one_minus_beta1 * (d - m)
    v = beta2 * v + one_minus_beta2 * d * d
    tl.store(exp_avg_ptr + offsets, m, mask=mask)
    tl.store(exp_avg_sq_ptr + offsets, v, mask=mask)
    if AMSGRAD:
        v = tl.maximum(
            tl.load(max_exp_avg_sq_ptr + offsets, mask=mask).to(tl.float32), v
        )
        tl.store(max_exp_avg_sq_ptr + offsets, v, mask=mask)
    p = p - step_size * m / (tl.sqrt(v) / bias_correction2_sqrt + eps)
    tl.store(param_ptr + offsets, p, mask=mask)


@triton.jit
def _sgd_kernel(
    param_ptr,
    grad_ptr,
    momentum_buffer_ptr,
    n_elements,
    lr,
    momentum,
    one_minus_dampening,
    weight_decay,
    MAXIMIZE: tl.constexpr,
    DECAY: tl.constexpr,
    MOMENTUM: tl.constexpr,
    FIRST_STEP: tl.constexpr,
    NESTEROV: tl.constexpr,
    BLOCK: tl.constexpr,
):
    offsets, mask, p, d = _param_and_direction(
        param_ptr, grad_ptr, n_elements, weight_decay, MAXIMIZE, DECAY, BLOCK
    )
    if MOMENTUM:
        if FIRST_STEP:
            b = d
        else:
            b = tl.load(momentum_buffer_ptr + offsets, mask=mask).to(
                tl.float32
            )
            b = momentum * b + one_minus_dampening * d
        tl.store(momentum_buffer_ptr + offsets, b, mask=mask)
        if NESTEROV:
            d = d + momentum * b
        else:
            d = b
    tl.store(param_ptr + offsets, p - lr * d, mask=mask)


def _on_device(tensor: torch.Tensor):
    """Launch on ``tensor``'s GPU (Triton launches on the current device)."""
    return (
        torch.cuda.device(tensor.device)
        if tensor.is_cuda
        else contextlib.nullcontext()
    )


def _grid(tensor: torch.Tensor) -> tuple[int]:
    return (triton.cdiv(tensor.numel(), BLOCK),)


def adam_(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq,
    *,
    lr,
    beta1,
    beta2,
    eps,
    weight_decay,
    decoupled_weight_decay,
    maximize,
    step,
):
    """:func:`gdbook.torch.optim.adam.adam_` as one Triton kernel."""
    amsgrad = max_exp_avg_sq is not None
    scalars = adam_scalars(
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        weight_decay=weight_decay,
        step=step,
    )
    with _on_device(param):
        _adam_kernel[_grid(param)](
            param,
            grad,
            exp_avg,
            exp_avg_sq,
            max_exp_avg_sq if amsgrad else exp_avg_sq,
            param.numel(),
            *scalars,
            MAXIMIZE=bool(maximize),
            COUPLED_DECAY=bool(weight_decay) and not decoupled_weight_decay,
            DECOUPLED_DECAY=bool(weight_decay)
            and bool(decoupled_weight_decay),
            AMSGRAD=amsgrad,
            BLOCK=BLOCK,
            num_warps=NUM_WARPS,
        )


def sgd_(
    param,
    grad,
    momentum_buffer,
    *,
    lr,
    momentum,
    dampening,
    nesterov,
    weight_decay,
    maximize,
    first_step,
):
    """:func:`gdbook.torch.optim.sgd.sgd_` as one Triton kernel."""
    scalars = sgd_scalars(
        lr=lr,
        momentum=momentum,
        dampening=dampening,
        weight_decay=weight_decay,
    )
    with _on_device(param):
        _sgd_kernel[_grid(param)](
            param,
            grad,
            param if momentum_buffer is None else momentum_buffer,
            param.numel(),
            *scalars,
            MAXIMIZE=bool(maximize),
            DECAY=bool(weight_decay),
            MOMENTUM=bool(momentum),
            FIRST_STEP=bool(first_step),
            NESTEROV=bool(nesterov),
            BLOCK=BLOCK,
            num_warps=NUM_WARPS,
        )

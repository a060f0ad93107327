"""Fused updates for the flat optimizers: one pass over memory per step, each
element read and written once.

The eager functions (:func:`~gdbook.torch.optim.adam.adam_`,
:func:`~gdbook.torch.optim.sgd.sgd_`) keep torch.optim's operations, several
passes over the buffers. Here the same formulas are written for fusion: the
scalars that depend on the step (bias corrections) are computed once on the
host in float64 (:func:`adam_scalars`, :func:`sgd_scalars`), and each element
is then updated in one go, as

    d = grad (negated to maximize) + weight_decay * p      (coupled decay)
    p = param_scale * p                                    (decoupled decay)
        with param_scale = 1 - lr * weight_decay
    m = m + (1 - beta1) * (d - m)
    v = beta2 * v + (1 - beta2) * d * d
    v^ = max(v^, v)                                        (AMSGrad)
    p = p - step_size * m / (sqrt(v) / bias_correction2_sqrt + eps)

Lion, Adamax and NAdam (:func:`lion_`, :func:`adamax_`, :func:`nadam_`) are
written the same way, from :func:`lion_scalars`, :func:`adamax_scalars` and
:func:`nadam_scalars`:

    Lion:   p = param_scale * p
            p = p - lr * sign(beta1 * m + (1 - beta1) * grad)
            m = beta2 * m + (1 - beta2) * grad
    Adamax: m = m + (1 - beta1) * (d - m)
            u = max(beta2 * u, |d| + eps)
            p = p - step_size * (m / u)
    NAdam:  m, v as Adam's, D = sqrt(v / bias_correction2) + eps
            p = p - grad_step * d / D - momentum_step * m / D

This module is the ``"compile"`` backend: ``torch.compile`` of that arithmetic.
The scalars enter the compiled graph as one small tensor on the buffers'
device, never as Python floats, so a changing ``lr`` or ``step`` neither
recompiles the graph nor meets the torch.compile (2.13) bug that mis-compiles a
changing float used both as an operand and as an op's ``alpha=``/``value=``.
The ``"triton"`` backend (:mod:`gdbook.torch.optim.triton_kernels`) computes
Adam's and SGD's the same, from the same scalars (it has no Lion, Adamax or
NAdam kernel).
"""

from __future__ import annotations

import torch

from .nadam import momentum_coefficients


def adam_scalars(
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    step: float,
) -> list:
    """``[1 - beta1, beta2, 1 - beta2, eps, weight_decay, param_scale,
    step_size, bias_correction2_sqrt]``."""
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    return [
        1 - beta1,
        beta2,
        1 - beta2,
        eps,
        weight_decay,
        1 - lr * weight_decay,
        lr / bias_correction1,
        bias_correction2**0.5,
    ]


def sgd_scalars(
    *, lr: float, momentum: float, dampening: float, weight_decay: float
) -> list:
    """``[lr, momentum, 1 - dampening, weight_decay]``."""
    return [lr, momentum, 1 - dampening, weight_decay]


def lion_scalars(
    *, lr: float, beta1: float, beta2: float, weight_decay: float
) -> list:
    """``[param_scale, lr, beta1, 1 - beta1, beta2, 1 - beta2]``, with
    ``param_scale = 1 - lr * weight_decay``."""
    return [1 - lr * weight_decay, lr, beta1, 1 - beta1, beta2, 1 - beta2]


def adamax_scalars(
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    step: float,
) -> list:
    """``[1 - beta1, beta2, eps, weight_decay, step_size]``, with
    ``step_size = lr / (1 - beta1^step)``."""
    return [1 - beta1, beta2, eps, weight_decay, lr / (1 - beta1**step)]


def nadam_scalars(
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    mu: float,
    mu_next: float,
    mu_product: float,
    step: float,
) -> list:
    """``[1 - beta1, beta2, 1 - beta2, eps, weight_decay, param_scale,
    bias_correction2, grad_step, momentum_step]``, with ``grad_step = lr * (1 -
    mu) / (1 - mu_product)`` and ``momentum_step = lr * mu_next / (1 -
    mu_product * mu_next)`` (``mu_product`` already times this step's
    ``mu``)."""
    return [
        1 - beta1,
        beta2,
        1 - beta2,
        eps,
        weight_decay,
        1 - lr * weight_decay,
        1 - beta2**step,
        lr * (1.0 - mu) / (1.0 - mu_product),
        lr * mu_next / (1.0 - mu_product * mu_next),
    ]


def _on_device(scalars: list, like: torch.Tensor) -> torch.Tensor:
    """``scalars`` as a tensor on ``like``'s device, in float64 for float64
    buffers, else float32."""
    dtype = torch.float64 if like.dtype == torch.float64 else torch.float32
    return torch.tensor(scalars, dtype=dtype).to(
        like.device, non_blocking=True
    )


def _decay_and_moments(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    scalars,
    maximize: bool,
    coupled_decay: bool,
    decoupled_decay: bool,
):
    """Adam's and NAdam's common start, traced into their compiled graphs:
    weight decay (coupled into d, or decoupled onto p), then the moments m and
    v updated in place; returns the direction d."""
    one_minus_beta1, beta2, one_minus_beta2, weight_decay, param_scale = (
        scalars
    )
    d = -grad if maximize else grad
    if coupled_decay:
        d = d + weight_decay * param
    if decoupled_decay:
        param.mul_(param_scale)
    exp_avg.add_(one_minus_beta1 * (d - exp_avg))
    exp_avg_sq.mul_(beta2).add_(one_minus_beta2 * d * d)
    return d


@torch.compile(fullgraph=True, dynamic=True)
def _adam(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    max_exp_avg_sq,
    scalars,
    maximize: bool,
    coupled_decay: bool,
    decoupled_decay: bool,
):
    (
        one_minus_beta1,
        beta2,
        one_minus_beta2,
        eps,
        weight_decay,
        param_scale,
        step_size,
        bc2_sqrt,
    ) = scalars.unbind()
    _decay_and_moments(
        param,
        grad,
        exp_avg,
        exp_avg_sq,
        (one_minus_beta1, beta2, one_minus_beta2, weight_decay, param_scale),
        maximize,
        coupled_decay,
        decoupled_decay,
    )
    second_moment = exp_avg_sq
    if max_exp_avg_sq is not None:
        max_exp_avg_sq.copy_(torch.maximum(max_exp_avg_sq, exp_avg_sq))
        second_moment = max_exp_avg_sq
    param.sub_(step_size * exp_avg / (second_moment.sqrt() / bc2_sqrt + eps))


@torch.compile(fullgraph=True, dynamic=True)
def _sgd(
    param,
    grad,
    momentum_buffer,
    scalars,
    maximize: bool,
    decay: bool,
    first_step: bool,
    nesterov: bool,
):
    lr, momentum, one_minus_dampening, weight_decay = scalars.unbind()
    d = -grad if maximize else grad
    if decay:
        d = d + weight_decay * param
    if momentum_buffer is not None:
        if first_step:
            momentum_buffer.copy_(d)
        else:
            momentum_buffer.mul_(momentum).add_(one_minus_dampening * d)
        d = d + momentum * momentum_buffer if nesterov else momentum_buffer
    param.sub_(lr * d)


@torch.compile(fullgraph=True, dynamic=True)
def _lion(param, grad, exp_avg, scalars):
    param_scale, lr, beta1, one_minus_beta1, beta2, one_minus_beta2 = (
        scalars.unbind()
    )
    param.mul_(param_scale)
    param.sub_(lr * torch.sign(beta1 * exp_avg + one_minus_beta1 * grad))
    exp_avg.copy_(beta2 * exp_avg + one_minus_beta2 * grad)


@torch.compile(fullgraph=True, dynamic=True)
def _adamax(
    param, grad, exp_avg, exp_inf, scalars, maximize: bool, decay: bool
):
    one_minus_beta1, beta2, eps, weight_decay, step_size = scalars.unbind()
    d = -grad if maximize else grad
    if decay:
        d = d + weight_decay * param
    exp_avg.add_(one_minus_beta1 * (d - exp_avg))
    exp_inf.copy_(torch.maximum(beta2 * exp_inf, d.abs() + eps))
    param.sub_(step_size * (exp_avg / exp_inf))


@torch.compile(fullgraph=True, dynamic=True)
def _nadam(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    scalars,
    maximize: bool,
    coupled_decay: bool,
    decoupled_decay: bool,
):
    (
        one_minus_beta1,
        beta2,
        one_minus_beta2,
        eps,
        weight_decay,
        param_scale,
        bias_correction2,
        grad_step,
        momentum_step,
    ) = scalars.unbind()
    d = _decay_and_moments(
        param,
        grad,
        exp_avg,
        exp_avg_sq,
        (one_minus_beta1, beta2, one_minus_beta2, weight_decay, param_scale),
        maximize,
        coupled_decay,
        decoupled_decay,
    )
    denom = (exp_avg_sq / bias_correction2).sqrt() + eps
    param.sub_(grad_step * (d / denom) + momentum_step * (exp_avg / denom))


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
    """:func:`gdbook.torch.optim.adam.adam_`, fused by torch.compile."""
    scalars = adam_scalars(
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        weight_decay=weight_decay,
        step=step,
    )
    _adam(
        param,
        grad,
        exp_avg,
        exp_avg_sq,
        max_exp_avg_sq,
        _on_device(scalars, param),
        bool(maximize),
        bool(weight_decay) and not decoupled_weight_decay,
        bool(weight_decay) and bool(decoupled_weight_decay),
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
    """:func:`gdbook.torch.optim.sgd.sgd_`, fused by torch.compile."""
    scalars = sgd_scalars(
        lr=lr,
        momentum=momentum,
        dampening=dampening,
        weight_decay=weight_decay,
    )
    _sgd(
        param,
        grad,
        momentum_buffer if momentum else None,
        _on_device(scalars, param),
        bool(maximize),
        bool(weight_decay),
        bool(first_step),
        bool(nesterov),
    )


def lion_(param, grad, exp_avg, *, lr, beta1, beta2, weight_decay):
    """:func:`gdbook.torch.optim.lion.lion_`, fused by torch.compile."""
    scalars = lion_scalars(
        lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay
    )
    _lion(param, grad, exp_avg, _on_device(scalars, param))


def adamax_(
    param,
    grad,
    exp_avg,
    exp_inf,
    *,
    lr,
    beta1,
    beta2,
    eps,
    weight_decay,
    maximize,
    step,
):
    """:func:`gdbook.torch.optim.adamax.adamax_`, fused by torch.compile."""
    scalars = adamax_scalars(
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        weight_decay=weight_decay,
        step=step,
    )
    _adamax(
        param,
        grad,
        exp_avg,
        exp_inf,
        _on_device(scalars, param),
        bool(maximize),
        bool(weight_decay),
    )


def nadam_(
    param,
    grad,
    exp_avg,
    exp_avg_sq,
    mu_product,
    *,
    lr,
    beta1,
    beta2,
    eps,
    weight_decay,
    momentum_decay,
    decoupled_weight_decay,
    maximize,
    step,
):
    """:func:`gdbook.torch.optim.nadam.nadam_`, fused by torch.compile;
    ``mu_product`` (0-d) is updated as there, outside the compiled graph."""
    mu, mu_next = momentum_coefficients(beta1, momentum_decay, step)
    mu_product *= mu
    scalars = nadam_scalars(
        lr=lr,
        beta1=beta1,
        beta2=beta2,
        eps=eps,
        weight_decay=weight_decay,
        mu=mu,
        mu_next=mu_next,
        mu_product=mu_product.item(),
        step=step,
    )
    _nadam(
        param,
        grad,
        exp_avg,
        exp_avg_sq,
        _on_device(scalars, param),
        bool(maximize),
        bool(weight_decay) and not decoupled_weight_decay,
        bool(weight_decay) and bool(decoupled_weight_decay),
    )

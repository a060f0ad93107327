"""The ``"fused"`` backend: torch's own fused optimizer kernels, called as
gdbook's eager functions are.

``torch.optim.Adam(fused=True)``, ``AdamW(fused=True)`` and ``SGD(fused=True)``
call ``torch._fused_adam_``, ``torch._fused_adamw_`` and ``torch._fused_sgd_``:
precompiled kernels that read and write each element once, on CPU spread over
all threads. torch.optim gives them one tensor per parameter, so a model of
many tensors pays for each one (a parallel region and its setup); here each
call gets the one flat buffer, so a step is one pass over memory however many
parameters the model has, with nothing to compile.

The kernels take the step count as a tensor and read it without incrementing it
(torch.optim increments it just before the call); the flat optimizer has
already counted this step (``Adam._update``), so the count is passed as it is.

Arithmetic, compared with the eager functions
(:func:`~gdbook.torch.optim.adam.adam_`, :func:`~gdbook.torch.optim.sgd.sgd_`)
on the same flat buffer:

* SGD: the same operations in the same order (fused multiply-adds where eager
  ``add(alpha=)`` has them), bit for bit, in float32 and float64.
* Adam and AdamW: the moments are the same, but the parameter moves by
  ``(-step_size * m) / denom`` where the eager formula computes
  ``-step_size * (m / denom)``: one rounding apart per step, so the parameters
  (and, with coupled weight decay, the moments that depend on them) differ by
  float round-off, as ``torch.optim.Adam(fused=True)`` differs from its
  for-loop.
"""

from __future__ import annotations

import torch


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
    """:func:`gdbook.torch.optim.adam.adam_` as torch's fused Adam (or AdamW)
    kernel."""
    fused_adam = (
        torch._fused_adamw_ if decoupled_weight_decay else torch._fused_adam_
    )
    fused_adam(
        [param],
        [grad],
        [exp_avg],
        [exp_avg_sq],
        [] if max_exp_avg_sq is None else [max_exp_avg_sq],
        [torch.tensor(float(step))],
        lr=float(lr),
        beta1=float(beta1),
        beta2=float(beta2),
        weight_decay=float(weight_decay),
        eps=float(eps),
        amsgrad=max_exp_avg_sq is not None,
        maximize=bool(maximize),
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
    """:func:`gdbook.torch.optim.sgd.sgd_` as torch's fused SGD kernel."""
    torch._fused_sgd_(
        [param],
        [grad],
        [momentum_buffer] if momentum else [],
        lr=float(lr),
        momentum=float(momentum),
        dampening=float(dampening),
        nesterov=bool(nesterov),
        weight_decay=float(weight_decay),
        maximize=bool(maximize),
        is_first_step=bool(first_step),
    )

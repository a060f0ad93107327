r"""Training in 16 bits: the same full-batch run with the weights and the
arithmetic in float32, bfloat16 or float16, with or without float32 master
weights.

A 16-bit weight :math:`w` keeps 8 (bfloat16) or 11 (float16) significant
bits, so an update with :math:`|\alpha g| < \tfrac{\epsilon}{2}|w|`
(:math:`\epsilon` = ``torch.finfo(dtype).eps``) is rounded away. Mixed
precision (Micikevicius et al., *Mixed Precision Training*, ICLR 2018) keeps a
float32 master copy of the weights, which receives every update, and computes
the forward and backward passes in 16 bits (``torch.autocast``); with float16
it also scales the loss so that small gradients do not underflow
(``torch.amp.GradScaler``, dynamic loss scaling).

    run = train_in_precision(model, X, y, mode="mixed-bfloat16", lr=0.1,
                             steps=200)
    run["loss"]  # float32 loss of the weights before each step, and after

This is the experiment that compares the precisions step by step; to train a
model in mixed precision, with mini-batches and checkpoints, use
``gdbook.torch.train(..., precision="mixed-bfloat16")``.
"""

from __future__ import annotations

import contextlib
import copy

import numpy as np
import torch
import torch.nn.functional as F

from .. import _validate

MODES = ("float32", "bfloat16", "float16", "mixed-bfloat16", "mixed-float16")
"""``"float32"``: everything in float32. ``"bfloat16"``, ``"float16"``: pure
16 bits, weights, data, gradients and update. ``"mixed-bfloat16"``,
``"mixed-float16"``: float32 master weights and update, forward and backward
under ``torch.autocast`` in 16 bits; float16 with dynamic loss scaling."""


def _float32_loss(model, shadow, inputs, targets, loss_fn):
    # the loss of the current weights, evaluated in float32 (on the float32
    # copy ``shadow`` of a 16-bit model)
    with torch.no_grad():
        if shadow is not None:
            shadow.load_state_dict(model.state_dict())  # copy_ casts
            model = shadow
        return float(loss_fn(model(inputs), targets))


def train_in_precision(
    model,
    inputs,
    targets,
    *,
    mode,
    lr,
    steps,
    loss_fn=F.mse_loss,
    optimizer=torch.optim.SGD,
    init_scale=2.0**16,
    growth_interval=2000,
):
    """Train a copy of ``model`` for ``steps`` full-batch steps of
    ``optimizer(params, lr=lr)`` in precision ``mode`` (one of ``MODES``).

    Returns a dict: ``loss`` (array of ``steps + 1`` float32 losses of the
    weights before each step and after the last, whatever the mode),
    ``model`` (the trained copy, its weights in the mode's storage dtype),
    ``skipped`` (steps that ``GradScaler`` skipped on an inf or NaN
    gradient; 0 except in ``"mixed-float16"``) and ``scale`` (the loss scale
    after each step, ``None`` except in ``"mixed-float16"``).
    In the pure 16-bit modes the optimizer updates 16-bit weights (as
    ``torch.optim`` does, in the weights' dtype), so small steps are lost.
    ``init_scale`` and ``growth_interval`` go to ``torch.amp.GradScaler``
    (``"mixed-float16"`` only): the first loss scale, and the number of
    steps without inf or NaN after which the scale doubles.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module, got {type(model).__name__}"
        )
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    lr = _validate.real("lr", lr, low=0.0, low_open=True)
    steps = _validate.integer("steps", steps, low=1)
    init_scale = _validate.real(
        "init_scale", init_scale, low=0.0, low_open=True
    )
    growth_interval = _validate.integer(
        "growth_interval", growth_interval, low=1
    )
    for name, t in (("inputs", inputs), ("targets", targets)):
        if not torch.is_tensor(t) or not t.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor")
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(
            f"inputs and targets must have as many rows, got "
            f"{inputs.shape[0]} and {targets.shape[0]}"
        )
    X32, y32 = inputs.float(), targets.float()
    pure = mode in ("bfloat16", "float16")
    dtype = (
        torch.float32
        if mode == "float32"
        else getattr(torch, mode.removeprefix("mixed-"))
    )
    model = copy.deepcopy(model).float()
    shadow = None
    if pure:  # weights, data, gradients and the update in 16 bits
        shadow = copy.deepcopy(model)
        model = model.to(dtype)
        X, y = X32.to(dtype), y32.to(dtype)
    else:
        X, y = X32, y32
    device_type = X32.device.type
    scaler = None
    if mode == "mixed-float16":
        scaler = torch.amp.GradScaler(
            device_type, init_scale=init_scale, growth_interval=growth_interval
        )
    opt = optimizer(model.parameters(), lr=lr)
    losses, scales, skipped = [], [], 0
    for _ in range(steps):
        losses.append(_float32_loss(model, shadow, X32, y32, loss_fn))
        opt.zero_grad()
        if mode.startswith("mixed"):  # 16-bit products, float32 weights
            context = torch.autocast(device_type, dtype)
        else:
            context = contextlib.nullcontext()
        with context:
            loss = loss_fn(model(X).to(y.dtype), y)
        if scaler is None:
            loss.backward()
            opt.step()
            continue
        before = scaler.get_scale()
        scaler.scale(loss).backward()
        scaler.step(opt)  # unscales; skips the step on inf or NaN
        scaler.update()  # halves the scale after a skip, else may double
        scales.append(scaler.get_scale())
        skipped += scales[-1] < before
    losses.append(_float32_loss(model, shadow, X32, y32, loss_fn))
    return {
        "loss": np.array(losses),
        "model": model,
        "skipped": int(skipped),
        "scale": None if scaler is None else np.array(scales),
    }

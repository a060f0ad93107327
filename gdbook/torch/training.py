"""A training loop with a history, a progress bar, divergence reported, and
checkpoint/resume.

    history = gdbook.torch.train(
        model, nn.MSELoss(), (X, y), optimizer, epochs=20, batch_size=32,
        checkpoint="run.pt"
    )

With ``checkpoint``, the model, optimizer, scheduler, every random generator,
the epoch and the history are saved atomically after each epoch
(:mod:`gdbook.torch.checkpoint`), and the run holds the checkpoint's lock while
it lasts. Calling ``train`` again with the same arguments resumes from the last
checkpoint, so a run killed at any moment and restarted ends, on CPU,
bit-identical to a run that was never interrupted. A diverging run stops, as
:func:`gdbook.minimize` does, and keeps its last good checkpoint.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from .. import _validate
from .._minimize import DIVERGENCE_FACTOR, has_diverged
from . import checkpoint as ckpt
from . import rng


class DivergenceError(FloatingPointError):
    """Training diverged. ``history`` holds the epochs trained, the diverged
    one last when the mean loss of an epoch diverged (a non-finite loss stops
    the run within the epoch, which is then not recorded)."""

    def __init__(self, message: str, history: dict):
        super().__init__(message)
        self.history = history


def _tensors(data) -> tuple[torch.Tensor, ...]:
    """``data`` (a tuple of tensors or a TensorDataset) as tensors: inputs...,
    target."""
    tensors = tuple(
        data.tensors
        if isinstance(data, torch.utils.data.TensorDataset)
        else data
    )
    if len(tensors) < 2 or not all(
        isinstance(t, torch.Tensor) for t in tensors
    ):
        raise TypeError(
            "data must be a tuple (inputs..., target) of at least two "
            "tensors, or a TensorDataset"
        )
    if len({len(t) for t in tensors}) != 1:
        raise ValueError(
            f"data tensors must have the same length (first dimension), got "
            f"{[tuple(t.shape) for t in tensors]}"
        )
    if len(tensors[0]) == 0:
        raise ValueError("data must hold at least one sample")
    return tensors


def fingerprint(
    model: nn.Module,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    scheduler,
    tensors,
    batch_size: int,
    shuffle: bool,
    seed: int,
) -> dict:
    """What a checkpoint must match to be resumed: the structure of the model
    and optimizer, the optimizer's constructor hyper-parameters
    (``optimizer.defaults``; a scheduler's later changes to the param groups do
    not count), the data's shapes and content, the loss function, the
    scheduler's class, and the sampling. Resuming with another lr, other data
    or another loss is then refused rather than silently ignored."""
    return {
        "model": [
            (name, tuple(t.shape), str(t.dtype))
            for name, t in model.state_dict().items()
        ],
        "optimizer": [type(optimizer).__name__]
        + [len(group["params"]) for group in optimizer.param_groups],
        "hyperparameters": sorted(
            (
                key,
                value
                if isinstance(
                    value, (bool, int, float, str, tuple, type(None))
                )
                else repr(value),
            )
            for key, value in optimizer.defaults.items()
        ),
        "data": [(tuple(t.shape), str(t.dtype), _content(t)) for t in tensors],
        "loss": _name(loss_fn),
        "scheduler": None
        if scheduler is None
        else type(scheduler).__qualname__,
        "batch_size": batch_size,
        "shuffle": shuffle,
        "seed": seed,
    }


def _content(tensor: torch.Tensor) -> str:
    """A hash of the tensor's values: SHA-256 of its bytes, about a second per
    GB (computed once per run)."""
    data = (
        tensor.detach().cpu().contiguous().flatten().view(torch.uint8).numpy()
    )
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def _name(loss_fn: Callable) -> str:
    """The loss function's qualified name and, for a module, its settings:
    ``"MSELoss(reduction='sum')"``."""
    if not isinstance(loss_fn, nn.Module):
        return getattr(loss_fn, "__qualname__", type(loss_fn).__qualname__)
    settings = [
        f"{key}={value!r}"
        for key, value in vars(loss_fn).items()  # public plain attributes
        if key[0] != "_"
        and key != "training"
        and isinstance(value, (bool, int, float, str))
    ]
    settings += [
        f"{key}={_content(value)!r}"
        for key, value in loss_fn.state_dict().items()
    ]  # class weights
    return f"{type(loss_fn).__qualname__}({', '.join(settings)})"


def train(
    model: nn.Module,
    loss_fn: Callable,
    data,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    scheduler=None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = False,
) -> dict:
    """Train ``model`` for ``epochs`` passes over ``data`` and return the
    history.

    data        a tuple ``(inputs..., target)`` of tensors of equal length, or
                a ``TensorDataset``; it is moved to the model's device. Each
                step computes ``loss_fn(model(*inputs), target)`` on a
                mini-batch of ``batch_size`` samples (default: all of them,
                i.e. full-batch GD). Targets that would broadcast against the
                model's outputs to a larger shape (e.g. (n, 1) against (n,))
                are refused.
    optimizer   holding (some of) the model's parameters.
    shuffle     draw a new order each epoch from a generator seeded with
                ``seed`` (else keep the order).
    scheduler   a ``torch.optim.lr_scheduler`` object, stepped once after each
                epoch.
    checkpoint  a file: resumed from when it exists, (re)written after every
                epoch, locked for the run. A file that cannot be read, that
                another run wrote or that another run holds raises
                :class:`~gdbook.torch.checkpoint.CheckpointError`; a folder
                that cannot be written to raises ``OSError`` before training.
    progress    show a tqdm progress bar over epochs (``TQDM_DISABLE=1`` hides
                it).

    Returns ``{"epoch": [1, 2, ...], "loss": [mean training loss of each
    epoch], "lr": [lr of the first param group during each epoch]}``,
    including the epochs before a resume. A non-finite loss, or a mean loss of
    an epoch more than ``DIVERGENCE_FACTOR`` times the first epoch's (as in
    :func:`gdbook.minimize`), raises :class:`DivergenceError` naming the epoch,
    the loss and the learning rates, without writing the diverged state to the
    checkpoint.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module, got {type(model).__name__}"
        )
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            "optimizer must be a torch.optim.Optimizer, got "
            f"{type(optimizer).__name__}"
        )
    if checkpoint is not None and not isinstance(
        checkpoint, (str, os.PathLike)
    ):
        raise TypeError(
            f"checkpoint must be a path (str or os.PathLike) or None, "
            f"got {type(checkpoint).__name__}"
        )
    epochs = _validate.integer("epochs", epochs, low=0)
    seed = _validate.integer("seed", seed)
    tensors = _tensors(data)
    n = len(tensors[0])
    batch_size = (
        n
        if batch_size is None
        else _validate.integer("batch_size", batch_size, low=1)
    )
    parameters = list(model.parameters())
    if not parameters:
        raise ValueError("model has no parameters to train")
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if not any(id(p) in held for p in parameters):
        raise ValueError(
            "optimizer holds none of the model's parameters; "
            "build it from this model's parameters()"
        )
    device = parameters[0].device
    _check_target(model, [t[:2].to(device) for t in tensors])
    run = fingerprint(
        model,
        loss_fn,
        optimizer,
        scheduler,
        tensors,
        batch_size,
        bool(shuffle),
        seed,
    )
    tensors = tuple(t.to(device) for t in tensors)
    generator = torch.Generator().manual_seed(seed)
    history = {"epoch": [], "loss": [], "lr": []}
    with (
        contextlib.nullcontext()
        if checkpoint is None
        else ckpt.lock(checkpoint)
    ):
        if checkpoint is not None and Path(checkpoint).exists():
            history = _resume(
                checkpoint, run, model, optimizer, scheduler, generator
            )
            if len(history["epoch"]) > epochs:
                raise ckpt.CheckpointError(
                    f"{checkpoint}: the checkpoint is at epoch "
                    f"{len(history['epoch'])}, past epochs={epochs}"
                )
        model.train()
        bar = tqdm(
            range(len(history["epoch"]), epochs),
            initial=len(history["epoch"]),
            total=epochs,
            desc="train",
            **({} if progress else {"disable": True}),
        )  # unset: TQDM_DISABLE decides
        for epoch in bar:
            lr = float(optimizer.param_groups[0]["lr"])
            order = (
                torch.randperm(n, generator=generator)
                if shuffle
                else torch.arange(n)
            )
            total = 0.0
            for step, idx in enumerate(order.split(batch_size)):
                idx = idx.to(device)
                loss = _step(
                    model, loss_fn, optimizer, [t[idx] for t in tensors]
                )
                if not math.isfinite(loss):
                    raise DivergenceError(
                        f"training diverged: the loss is {loss} at epoch "
                        f"{epoch + 1}, "
                        f"step {step + 1} ({_lrs(optimizer)}); try a "
                        "smaller learning rate",
                        history,
                    )
                total += loss * len(idx)
            history["epoch"].append(epoch + 1)
            history["loss"].append(total / n)
            history["lr"].append(lr)
            if has_diverged(
                history["loss"][0], history["loss"][-1], min(history["loss"])
            ):
                raise DivergenceError(
                    f"training diverged: the mean loss is {total / n:.4g} "
                    "at epoch "
                    f"{epoch + 1}, more than {DIVERGENCE_FACTOR:g} times "
                    "the first epoch's "
                    f"{history['loss'][0]:.4g} ({_lrs(optimizer)}); "
                    "try a smaller learning rate",
                    history,
                )
            if scheduler is not None:
                scheduler.step()
            bar.set_postfix(loss=f"{total / n:.4g}")
            if checkpoint is not None:
                ckpt.save(
                    checkpoint,
                    run,
                    model=model.state_dict(),
                    optimizer=optimizer.state_dict(),
                    scheduler=None
                    if scheduler is None
                    else scheduler.state_dict(),
                    rng=rng.get_state(generator),
                    history=history,
                )
        bar.close()
    return history


def _check_target(model: nn.Module, probe: list[torch.Tensor]) -> None:
    """Refuse targets that a loss would broadcast against the model's outputs,
    as (n, 1) against (n,) becomes (n, n). ``probe`` is the data's first
    samples; the model sees them in eval mode, without gradients."""
    training = model.training
    model.eval()
    with torch.no_grad():
        output = model(*probe[:-1])
    model.train(training)
    target = probe[-1]
    if not isinstance(output, torch.Tensor):
        return
    try:
        shape = torch.broadcast_shapes(output.shape, target.shape)
    # e.g. scores (n, classes) and labels (n,): a loss does not broadcast them
    except RuntimeError:
        return
    if shape != output.shape:
        raise ValueError(
            f"data: targets of shape {tuple(target.shape)} and the model's "
            "outputs of shape "
            f"{tuple(output.shape)} (of the first {len(target)} samples) "
            "would broadcast to "
            f"{tuple(shape)} in a loss; give the targets the outputs' shape"
        )


def _step(model, loss_fn, optimizer, batch) -> float:
    """One gradient step on ``batch``; returns the loss before the step (no
    step if it is not finite)."""
    optimizer.zero_grad()
    loss = loss_fn(model(*batch[:-1]), batch[-1])
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(
            f"loss_fn must return a scalar tensor, "
            f"got {getattr(loss, 'shape', type(loss).__name__)}"
        )
    value = loss.item()
    if math.isfinite(value):
        loss.backward()
        optimizer.step()
    return value


def _lrs(optimizer) -> str:
    """The learning rate, or those of several param groups, as ``lr=0.01`` or
    ``lr=[0.01, 0.1]``."""
    lrs = [float(group["lr"]) for group in optimizer.param_groups]
    return f"lr={lrs[0]:g}" if len(lrs) == 1 else f"lr={lrs}"


def _resume(path, run: dict, model, optimizer, scheduler, generator) -> dict:
    """Load the checkpoint at ``path`` into the run's objects and return its
    history."""
    saved = ckpt.load(path, run)
    try:
        history = _history(saved["history"])
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(saved["scheduler"])
        rng.set_state(saved["rng"], generator)
    except (
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        RuntimeError,
        AttributeError,
    ) as err:
        raise ckpt.CheckpointError(
            f"{path}: damaged checkpoint ({type(err).__name__}: {err})"
        ) from err
    return history


def _history(history: dict) -> dict:
    """A checkpoint's history, checked: epochs 1, ..., k with k losses and k
    learning rates."""
    k = len(history["epoch"])
    if (
        history["epoch"] != list(range(1, k + 1))
        or len(history["loss"]) != k
        or len(history["lr"]) != k
    ):
        raise ValueError(
            f"its history has epochs {history['epoch']} with "
            f"{len(history['loss'])} losses "
            f"and {len(history['lr'])} learning rates"
        )
    return history

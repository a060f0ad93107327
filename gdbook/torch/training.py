"""A training loop with a history, a progress bar, divergence reported, and checkpoint/resume.

    history = gdbook.torch.train(model, nn.MSELoss(), (X, y), optimizer, epochs=20, batch_size=32,
                                 checkpoint="run.pt")

With ``checkpoint``, the model, optimizer, scheduler, every random generator, the epoch and the
history are saved atomically after each epoch (:mod:`gdbook.torch.checkpoint`). Calling ``train``
again with the same arguments resumes from the last checkpoint, so a run killed at any moment and
restarted ends, on CPU, bit-identical to a run that was never interrupted.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from tqdm import tqdm

from .. import _validate
from . import checkpoint as ckpt
from . import rng


def _tensors(data) -> tuple[torch.Tensor, ...]:
    """``data`` (a tuple of tensors or a TensorDataset) as tensors: inputs..., target."""
    tensors = tuple(data.tensors if isinstance(data, torch.utils.data.TensorDataset) else data)
    if len(tensors) < 2 or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise TypeError("data must be a tuple (inputs..., target) of at least two tensors, or a TensorDataset")
    if len({len(t) for t in tensors}) != 1:
        raise ValueError(f"data tensors must have the same length (first dimension), got "
                         f"{[tuple(t.shape) for t in tensors]}")
    if len(tensors[0]) == 0:
        raise ValueError("data must hold at least one sample")
    return tensors


def fingerprint(model: nn.Module, optimizer: torch.optim.Optimizer, tensors, batch_size: int, shuffle: bool,
                seed: int) -> dict:
    """What a checkpoint must match to be resumed: the structure of the model, optimizer and data, and the
    optimizer's constructor hyper-parameters (``optimizer.defaults``; a scheduler's later changes to the
    param groups do not count), so that resuming with another lr is refused rather than silently ignored."""
    return {
        "model": [(name, tuple(t.shape), str(t.dtype)) for name, t in model.state_dict().items()],
        "optimizer": [type(optimizer).__name__] + [len(group["params"]) for group in optimizer.param_groups],
        "hyperparameters": sorted((key, value if isinstance(value, (bool, int, float, str, tuple, type(None)))
                                   else repr(value)) for key, value in optimizer.defaults.items()),
        "data": [(tuple(t.shape), str(t.dtype)) for t in tensors],
        "batch_size": batch_size,
        "shuffle": shuffle,
        "seed": seed,
    }


def train(model: nn.Module, loss_fn: Callable, data, optimizer: torch.optim.Optimizer, epochs: int, *,
          batch_size: int | None = None, shuffle: bool = True, seed: int = 0, scheduler=None,
          checkpoint: str | os.PathLike | None = None, progress: bool = False) -> dict:
    """Train ``model`` for ``epochs`` passes over ``data`` and return the history.

    data        a tuple ``(inputs..., target)`` of tensors of equal length, or a ``TensorDataset``; it is
                moved to the model's device. Each step computes ``loss_fn(model(*inputs), target)``
                on a mini-batch of ``batch_size`` samples (default: all of them, i.e. full-batch GD).
    shuffle     draw a new order each epoch from a generator seeded with ``seed`` (else keep the order).
    scheduler   a ``torch.optim.lr_scheduler`` object, stepped once after each epoch.
    checkpoint  a file: resumed from when it exists, (re)written after every epoch. A file that cannot
                be read or that another run wrote raises :class:`~gdbook.torch.checkpoint.CheckpointError`.
    progress    show a tqdm progress bar over epochs (``TQDM_DISABLE=1`` hides it).

    Returns ``{"epoch": [1, 2, ...], "loss": [mean training loss of each epoch], "lr": [lr of the
    first param group during each epoch]}``, including the epochs before a resume. A non-finite loss
    raises ``FloatingPointError`` naming the epoch and step.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    epochs = _validate.integer("epochs", epochs, low=0)
    seed = _validate.integer("seed", seed)
    tensors = _tensors(data)
    n = len(tensors[0])
    batch_size = n if batch_size is None else _validate.integer("batch_size", batch_size, low=1)
    first_param = next(model.parameters(), None)
    if first_param is None:
        raise ValueError("model has no parameters to train")
    device = first_param.device
    tensors = tuple(t.to(device) for t in tensors)
    generator = torch.Generator().manual_seed(seed)
    run = fingerprint(model, optimizer, tensors, batch_size, bool(shuffle), seed)
    history = {"epoch": [], "loss": [], "lr": []}
    if checkpoint is not None and Path(checkpoint).exists():
        history = _resume(checkpoint, run, model, optimizer, scheduler, generator)
        if len(history["epoch"]) > epochs:
            raise ckpt.CheckpointError(f"{checkpoint}: the checkpoint is at epoch {len(history['epoch'])}, "
                                       f"past epochs={epochs}")
    model.train()
    bar = tqdm(range(len(history["epoch"]), epochs), initial=len(history["epoch"]), total=epochs, desc="train",
               **({} if progress else {"disable": True}))  # left unset, TQDM_DISABLE decides
    for epoch in bar:
        lr = optimizer.param_groups[0]["lr"]
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        total = 0.0
        for step, idx in enumerate(order.split(batch_size)):
            idx = idx.to(device)
            loss = _step(model, loss_fn, optimizer, [t[idx] for t in tensors], epoch, step, lr)
            total += loss * len(idx)
        if scheduler is not None:
            scheduler.step()
        history["epoch"].append(epoch + 1)
        history["loss"].append(total / n)
        history["lr"].append(lr)
        bar.set_postfix(loss=f"{total / n:.4g}")
        if checkpoint is not None:
            ckpt.save(checkpoint, run, model=model.state_dict(), optimizer=optimizer.state_dict(),
                      scheduler=None if scheduler is None else scheduler.state_dict(),
                      rng=rng.get_state(generator), history=history)
    bar.close()
    return history


def _step(model, loss_fn, optimizer, batch, epoch: int, step: int, lr: float) -> float:
    """One gradient step on ``batch``; returns the loss before the step, raises if it is not finite."""
    optimizer.zero_grad()
    loss = loss_fn(model(*batch[:-1]), batch[-1])
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"loss_fn must return a scalar tensor, got {getattr(loss, 'shape', type(loss).__name__)}")
    value = loss.item()
    if not math.isfinite(value):
        raise FloatingPointError(f"training diverged: the loss is {value} at epoch {epoch + 1}, step {step + 1} "
                                 f"(lr={lr:g}); try a smaller learning rate")
    loss.backward()
    optimizer.step()
    return value


def _resume(path, run: dict, model, optimizer, scheduler, generator) -> dict:
    """Load the checkpoint at ``path`` into the run's objects and return its history."""
    saved = ckpt.load(path, run)
    if (saved["scheduler"] is None) != (scheduler is None):
        raise ckpt.CheckpointError(f"{path}: written by a run {'with' if scheduler is None else 'without'} "
                                   "an LR scheduler, resumed by one "
                                   f"{'without' if scheduler is None else 'with'}")
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(saved["scheduler"])
    rng.set_state(saved["rng"], generator)
    return saved["history"]

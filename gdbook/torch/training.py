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
import torch.distributed as dist
from torch import nn
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from .. import _validate
from .._minimize import DIVERGENCE_FACTOR, has_diverged
from . import checkpoint as ckpt
from . import rng

# train()'s precisions: the dtype of torch.autocast (None: no autocast)
_AUTOCAST = {
    "float32": None,
    "mixed-bfloat16": torch.bfloat16,
    "mixed-float16": torch.float16,
}


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
    accumulate: int = 1,
    clip_norm: float | None = None,
    precision: str = "float32",
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
    accumulate  gradient accumulation: one optimizer step per ``accumulate``
                mini-batches, whose losses are weighted by their share of the
                samples, so that (for a loss that is a mean over samples) the
                step uses the mean gradient of all of them, as one large batch
                would.
    clip_norm   before each step, scale the gradient of all parameters
                together down to this norm when it is longer
                (``torch.nn.utils.clip_grad_norm_``); None does not clip.
    precision   ``"float32"``; ``"mixed-bfloat16"`` or ``"mixed-float16"``:
                mixed precision (Micikevicius et al., ICLR 2018), the forward
                pass and the loss under ``torch.autocast`` in 16 bits, the
                weights, gradients and optimizer in their own dtype (float32
                master weights); float16 adds ``torch.amp.GradScaler``'s
                dynamic loss scaling (a step whose gradients overflow is
                skipped and the scale halved), and its state is checkpointed.
                Clipping acts on the unscaled gradients.

    Under ``torch.distributed`` (a process group initialised, the model
    typically wrapped in ``DistributedDataParallel``), each epoch's samples
    are split among the ranks by a ``DistributedSampler`` (seeded with
    ``seed``, ``set_epoch`` each epoch) and ``batch_size`` is per rank; the
    history's losses are means over all ranks; only rank 0 writes the
    checkpoint (the same atomic write and lock), every rank resumes from it.

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
    accumulate = _validate.integer("accumulate", accumulate, low=1)
    if clip_norm is not None:
        clip_norm = _validate.real(
            "clip_norm", clip_norm, low=0.0, low_open=True
        )
    if precision not in _AUTOCAST:
        raise ValueError(
            f"precision must be one of {tuple(_AUTOCAST)}, got {precision!r}"
        )
    group = _Group()
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
    mixed = _Mixed(precision, device)
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
    run.update(
        accumulate=accumulate,
        clip_norm=clip_norm,
        world_size=group.size,
        precision=precision,
    )
    tensors = tuple(t.to(device) for t in tensors)
    generator = torch.Generator().manual_seed(seed)
    history = {"epoch": [], "loss": [], "lr": []}
    writes = checkpoint is not None and group.rank == 0
    with ckpt.lock(checkpoint) if writes else contextlib.nullcontext():
        group.barrier()  # rank 0 holds the lock before anyone reads
        if checkpoint is not None and Path(checkpoint).exists():
            history = _resume(
                checkpoint, run, model, optimizer, scheduler, generator, mixed
            )
        group.barrier()  # all have read before rank 0 writes again
        if checkpoint is not None:
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
            order = group.order(n, epoch, shuffle, seed, generator)
            batches = order.split(batch_size)
            total = 0.0
            for first in range(0, len(batches), accumulate):
                steps = batches[first : first + accumulate]
                total += _accumulated_step(
                    model,
                    loss_fn,
                    optimizer,
                    tensors,
                    steps,
                    device,
                    group,
                    clip_norm,
                    mixed,
                )
                if not math.isfinite(total):
                    raise DivergenceError(
                        f"training diverged: the loss is {total} at epoch "
                        f"{epoch + 1}, step {first // accumulate + 1} "
                        f"({_lrs(optimizer)}); try a smaller learning rate",
                        history,
                    )
            total, count = group.sum(total), group.sum(len(order))
            history["epoch"].append(epoch + 1)
            history["loss"].append(total / count)
            history["lr"].append(lr)
            if has_diverged(
                history["loss"][0], history["loss"][-1], min(history["loss"])
            ):
                raise DivergenceError(
                    f"training diverged: the mean loss is {total / count:.4g} "
                    "at epoch "
                    f"{epoch + 1}, more than {DIVERGENCE_FACTOR:g} times "
                    "the first epoch's "
                    f"{history['loss'][0]:.4g} ({_lrs(optimizer)}); "
                    "try a smaller learning rate",
                    history,
                )
            if scheduler is not None:
                scheduler.step()
            bar.set_postfix(loss=f"{total / count:.4g}")
            if checkpoint is not None and hasattr(
                optimizer, "consolidate_state_dict"
            ):  # ZeRO: gather the sharded optimizer state on rank 0
                optimizer.consolidate_state_dict(to=0)
            if writes:
                ckpt.save(
                    checkpoint,
                    run,
                    model=model.state_dict(),
                    optimizer=optimizer.state_dict(),
                    scheduler=None
                    if scheduler is None
                    else scheduler.state_dict(),
                    rng=rng.get_state(generator),
                    scaler=mixed.scaler.state_dict(),
                    history=history,
                )
        bar.close()
    return history


class _Group:
    """The process group train() runs in: rank 0 of 1 without
    torch.distributed, else the default group's rank and size."""

    def __init__(self):
        self.active = dist.is_available() and dist.is_initialized()
        self.rank = dist.get_rank() if self.active else 0
        self.size = dist.get_world_size() if self.active else 1

    def barrier(self):
        if self.active:
            dist.barrier()

    def sum(self, value: float) -> float:
        """``value`` summed over the ranks (float64, the same on each)."""
        if not self.active:
            return value
        total = torch.tensor([float(value)], dtype=torch.float64)
        dist.all_reduce(total)
        return total.item()

    def order(self, n, epoch, shuffle, seed, generator) -> torch.Tensor:
        """This rank's sample indices for ``epoch``: a permutation drawn from
        ``generator`` (one process), or the ``DistributedSampler``'s share."""
        if not self.active:
            if shuffle:
                return torch.randperm(n, generator=generator)
            return torch.arange(n)
        sampler = DistributedSampler(
            range(n),
            num_replicas=self.size,
            rank=self.rank,
            shuffle=shuffle,
            seed=seed,
        )
        sampler.set_epoch(epoch)
        return torch.tensor(list(sampler))


class _Mixed:
    """train()'s precision: the forward pass under ``torch.autocast`` in
    ``dtype`` (none for float32), and a ``GradScaler`` that scales the loss
    for float16 and is a pass-through otherwise."""

    def __init__(self, precision: str, device: torch.device):
        self.dtype = _AUTOCAST[precision]
        self.device_type = device.type
        self.scaler = torch.amp.GradScaler(
            device.type, enabled=self.dtype is torch.float16
        )

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def step(self, model, optimizer, clip_norm) -> None:
        """Unscale the gradients, clip them, step (unless float16 gradients
        overflowed) and update the scale."""
        if clip_norm is not None:
            self.scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        self.scaler.step(optimizer)
        self.scaler.update()


def _accumulated_step(
    model,
    loss_fn,
    optimizer,
    tensors,
    steps,
    device,
    group,
    clip_norm,
    mixed,
) -> float:
    """One optimizer step on the mini-batches ``steps`` (index tensors):
    each loss weighted by its share of their samples, gradients summed.
    Returns the sum over samples of the loss (loss * batch length); no step
    if a loss is not finite on any rank."""
    optimizer.zero_grad()
    size = sum(len(idx) for idx in steps)
    total = 0.0
    for k, idx in enumerate(steps):
        idx = idx.to(device)
        batch = [t[idx] for t in tensors]
        with mixed.autocast():
            loss = loss_fn(model(*batch[:-1]), batch[-1])
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError(
                f"loss_fn must return a scalar tensor, "
                f"got {getattr(loss, 'shape', type(loss).__name__)}"
            )
        value = loss.item()
        if not math.isfinite(group.sum(value)):  # every rank stops together
            return value if not math.isfinite(value) else math.nan
        last = k == len(steps) - 1
        # DDP all-reduces the gradients once, at the last backward
        sync = last or not hasattr(model, "no_sync")
        with contextlib.nullcontext() if sync else model.no_sync():
            mixed.scaler.scale(loss * (len(idx) / size)).backward()
        total += value * len(idx)
    # clipping after DDP's all-reduce: the same on all ranks
    mixed.step(model, optimizer, clip_norm)
    return total


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


def _lrs(optimizer) -> str:
    """The learning rate, or those of several param groups, as ``lr=0.01`` or
    ``lr=[0.01, 0.1]``."""
    lrs = [float(group["lr"]) for group in optimizer.param_groups]
    return f"lr={lrs[0]:g}" if len(lrs) == 1 else f"lr={lrs}"


def _resume(
    path, run: dict, model, optimizer, scheduler, generator, mixed
) -> dict:
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
        mixed.scaler.load_state_dict(saved["scaler"])
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

"""Learning-rate sweeps: run one method at many learning rates with the same
budget, and compare the ends.

A sweep answers "which learning rate?" empirically, the way practitioners tune
(Bengio, "Practical recommendations for gradient-based training of deep
architectures", 2012; Goodfellow et al. 2016, sec. 11.4). Read on log-spaced
learning rates, the final loss typically falls, flattens and then shoots up
where the runs diverge; on a quadratic, gradient descent diverges exactly for
lr > 2/L.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import _validate, optim
from ._minimize import Status, minimize
from .optim import Optimizer


@dataclass(frozen=True)
class Sweep:
    """The outcome of :func:`lr_sweep`, one entry per learning rate
    (ascending).

    ``final``: the loss at the end of the budget (the mean of the last
    ``average_last`` values, then the mean over seeds), NaN where a run
    diverged; ``diverged``: True if, for any seed, ``minimize`` stopped the run
    as divergent (a non-finite value, or a gap 1e6 times its start) or the run
    ended above the loss it started from; ``curves``: the loss histories of the
    first seed (shorter than ``max_iter + 1`` where ``minimize`` stopped a
    divergent run).
    """

    lrs: np.ndarray
    final: np.ndarray
    diverged: np.ndarray
    curves: tuple
    max_iter: int

    @property
    def best_lr(self) -> float:
        """The learning rate with the lowest final loss among the runs that did
        not diverge."""
        if np.all(self.diverged):
            raise ValueError(
                "every run diverged: there is no best learning rate; try "
                "smaller ones"
            )
        return float(self.lrs[np.nanargmin(self.final)])

    @property
    def largest_stable_lr(self) -> float | None:
        """The largest learning rate whose run did not diverge (None if all
        did)."""
        stable = self.lrs[~self.diverged]
        return float(stable.max()) if stable.size else None

    @property
    def smallest_divergent_lr(self) -> float | None:
        """The smallest learning rate whose run diverged (None if none did)."""
        bad = self.lrs[self.diverged]
        return float(bad.min()) if bad.size else None


def _optimizer_factory(method) -> Callable[[float], Optimizer]:
    if callable(method) and not isinstance(method, Optimizer):
        return method
    if isinstance(method, str):
        return optim.by_name(method)
    raise ValueError(
        f"method must be one of {', '.join(optim.NAMES)} or a callable lr "
        "-> optimizer; "
        f"got {method!r}"
    )


def lr_sweep(
    problem,
    x0,
    lrs: Sequence[float],
    method="gd",
    *,
    max_iter: int = 100,
    batch_size: int | None = None,
    seeds: Sequence[int] = (0,),
    average_last: int = 1,
) -> Sweep:
    """Run ``method`` from ``x0`` for ``max_iter`` steps at each learning rate
    in ``lrs``.

    method: a name from :data:`gdbook.optim.NAMES` ("gd", "adam", ...), or a
    callable ``lr -> optimizer`` (e.g. ``lambda lr: SGD(lr, momentum=0.9)``, or
    one that wraps lr in a schedule). With ``batch_size`` the steps use
    mini-batch gradients; each seed draws its own batches, and the final losses
    are averaged over ``seeds``. The whole budget is used: no early stop on a
    small gradient (tol = 0).
    """
    lrs = np.sort(
        np.array(
            [_validate.real("lrs", lr, low=0.0, low_open=True) for lr in lrs],
            dtype=float,
        )
    )
    if lrs.size == 0:
        raise ValueError("lrs must hold at least one learning rate")
    max_iter = _validate.integer("max_iter", max_iter, low=1)
    average_last = _validate.integer("average_last", average_last, low=1)
    if average_last > max_iter + 1:
        raise ValueError(
            f"average_last must be <= max_iter + 1 = {max_iter + 1}, got "
            f"{average_last}"
        )
    seeds = [_validate.integer("seeds", seed, low=0) for seed in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    make = _optimizer_factory(method)
    final, diverged, curves = [], [], []
    for lr in lrs:
        ends, bad = [], False
        for k, seed in enumerate(seeds):
            result = minimize(
                problem,
                x0,
                make(float(lr)),
                max_iter=max_iter,
                tol=0.0,
                batch_size=batch_size,
                seed=seed,
            )
            f = result.history["f"]
            if k == 0:
                curves.append(f)
            end = np.mean(f[-average_last:])
            bad = bad or result.status == Status.DIVERGED or not end <= f[0]
            ends.append(end)
        diverged.append(bad)
        final.append(np.nan if bad else float(np.mean(ends)))
    return Sweep(
        lrs, np.array(final), np.array(diverged), tuple(curves), max_iter
    )

"""Adagrad: per-coordinate step sizes from the sum of all past squared
gradients."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer, regularized_gradient


class Adagrad(Optimizer):
    r"""Adagrad, as in ``torch.optim.Adagrad``.

    With ``d = g + weight_decay * x`` (``g`` negated when ``maximize``), step
    t = 1, 2, ... is

        lr_t = lr / (1 + (t - 1) * lr_decay)
        s    <- s + d * d        (s starts at initial_accumulator_value)
        x    <- x - lr_t * d / (sqrt(s) + eps)

    Coordinates with large past gradients take small steps, rarely-seen ones
    take large steps.

    Sources: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online
    Learning and Stochastic Optimization" (JMLR 2011); the algorithm box of
    ``torch.optim.Adagrad``.
    """

    def __init__(
        self,
        lr: LearningRate = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ):
        super().__init__(lr)
        self.lr_decay = _validate.real("lr_decay", lr_decay, low=0.0)
        self.weight_decay = _validate.real(
            "weight_decay", weight_decay, low=0.0
        )
        self.initial_accumulator_value = _validate.real(
            "initial_accumulator_value", initial_accumulator_value, low=0.0
        )
        self.eps = _validate.real("eps", eps, low=0.0)
        self.maximize = _validate.flag("maximize", maximize)

    def _init_state(self, x0: np.ndarray) -> dict:
        return {"sum": np.full_like(x0, self.initial_accumulator_value)}

    def _update(self, x, g, state, lr):
        d = regularized_gradient(x, g, self.weight_decay, self.maximize)
        t = state["step"] + 1
        clr = lr / (1 + (t - 1) * self.lr_decay)
        s = state["sum"] + d * d
        return x - clr * d / (np.sqrt(s) + self.eps), {"sum": s}

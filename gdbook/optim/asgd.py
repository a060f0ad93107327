"""ASGD: SGD with a decaying step size and a running average of the
iterates."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer, regularized_gradient


class ASGD(Optimizer):
    r"""Averaged SGD, as in ``torch.optim.ASGD``.

    With ``d = g + weight_decay * x`` (``g`` negated when ``maximize``), step
    t = 1, 2, ... is

        x   <- (1 - lambd * eta) * x - eta * d
        ax  <- x                          if mu == 1
               ax + mu * (x - ax)         otherwise
        eta <- lr / (1 + lambd * lr * t)^alpha
        mu  <- 1 / max(1, t - t0)

    starting from ``eta = lr`` (the learning rate of the first step) and
    ``mu = 1``. The iterate x is what the optimizer returns; ``ax``, the
    Polyak-Ruppert average of the iterates since step ``t0``, is the estimate
    the averaging theory is about (read it from ``state["ax"]``). The step
    uses the ``eta`` that the previous step computed, so a schedule's value
    ``lr`` at step t takes effect at step t + 1, as in torch.optim.

    torch.optim keeps ``eta`` and ``mu`` in float32 unless torch's default
    dtype is float64; this reference computes them in float64.

    Sources: Polyak & Juditsky, "Acceleration of Stochastic Approximation by
    Averaging" (SIAM Journal on Control and Optimization, 1992); Bottou,
    "Stochastic Gradient Descent Tricks" (Neural Networks: Tricks of the
    Trade, 2nd ed., Springer, 2012) for this step-size schedule; the
    implementation of ``torch.optim.ASGD``.
    """

    def __init__(
        self,
        lr: LearningRate = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ):
        super().__init__(lr)
        self.lambd = _validate.real("lambd", lambd, low=0.0)
        self.alpha = _validate.real("alpha", alpha, low=0.0)
        self.t0 = _validate.real("t0", t0, low=0.0)
        self.weight_decay = _validate.real(
            "weight_decay", weight_decay, low=0.0
        )
        self.maximize = _validate.flag("maximize", maximize)

    def _init_state(self, x0: np.ndarray) -> dict:
        return {"eta": self.lr_at(0), "mu": 1.0, "ax": np.zeros_like(x0)}

    def _update(self, x, g, state, lr):
        d = regularized_gradient(x, g, self.weight_decay, self.maximize)
        t = state["step"] + 1
        eta, mu = state["eta"], state["mu"]
        x = x * (1 - self.lambd * eta) - eta * d
        ax = x.copy() if mu == 1 else state["ax"] + (x - state["ax"]) * mu
        return x, {
            "eta": lr / (1 + self.lambd * lr * t) ** self.alpha,
            "mu": 1 / max(1, t - self.t0),
            "ax": ax,
        }

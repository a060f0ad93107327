"""Adadelta: steps whose units match x, from moving averages of squared
gradients and squared steps."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer, regularized_gradient


class Adadelta(Optimizer):
    r"""Adadelta, as in ``torch.optim.Adadelta``.

    With ``d = g + weight_decay * x`` (``g`` negated when ``maximize``), each
    step is

        v  <- rho * v + (1 - rho) * d * d
        dx  = sqrt(u + eps) / sqrt(v + eps) * d
        u  <- rho * u + (1 - rho) * dx * dx
        x  <- x - lr * dx

    The ratio of RMS(past steps) to RMS(gradients) gives the step the units of
    x, so the paper's method has no learning rate (lr = 1, torch's default).

    Sources: Zeiler, "ADADELTA: An Adaptive Learning Rate Method"
    (arXiv:1212.5701, 2012); the algorithm box of ``torch.optim.Adadelta``.
    """

    def __init__(
        self,
        lr: LearningRate = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ):
        super().__init__(lr)
        self.rho = _validate.real("rho", rho, low=0.0, high=1.0)
        self.eps = _validate.real("eps", eps, low=0.0)
        self.weight_decay = _validate.real(
            "weight_decay", weight_decay, low=0.0
        )
        self.maximize = _validate.flag("maximize", maximize)

    def _init_state(self, x0: np.ndarray) -> dict:
        return {
            "square_avg": np.zeros_like(x0),
            "acc_delta": np.zeros_like(x0),
        }

    def _update(self, x, g, state, lr):
        d = regularized_gradient(x, g, self.weight_decay, self.maximize)
        rho = self.rho
        v = rho * state["square_avg"] + (1 - rho) * d * d
        dx = np.sqrt(state["acc_delta"] + self.eps) / np.sqrt(v + self.eps) * d
        u = rho * state["acc_delta"] + (1 - rho) * dx * dx
        return x - lr * dx, {"square_avg": v, "acc_delta": u}

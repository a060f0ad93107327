"""RMSprop: per-coordinate step sizes from an exponential moving average of
squared gradients."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer, regularized_gradient


class RMSprop(Optimizer):
    r"""RMSprop, as in ``torch.optim.RMSprop``.

    With ``d = g + weight_decay * x`` (``g`` negated when ``maximize``), each
    step is

        v  <- alpha * v + (1 - alpha) * d * d
        m  <- alpha * m + (1 - alpha) * d
        s  =  sqrt(v - m * m) + eps     if centered
              sqrt(v) + eps             otherwise
        b  <- momentum * b + d / s
        x  <- x - lr * b                if momentum > 0
              x - lr * d / s            otherwise

    ``centered`` divides by an estimate of the gradient's standard deviation
    instead of its root mean square.

    Sources: Tieleman & Hinton, Coursera "Neural Networks for Machine
    Learning", lecture 6.5 (2012); Graves, "Generating Sequences With Recurrent
    Neural Networks" (2013) for the centered variant; the algorithm box of
    ``torch.optim.RMSprop``.
    """

    def __init__(
        self,
        lr: LearningRate = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ):
        super().__init__(lr)
        self.alpha = _validate.real("alpha", alpha, low=0.0, high=1.0)
        self.eps = _validate.real("eps", eps, low=0.0)
        self.weight_decay = _validate.real(
            "weight_decay", weight_decay, low=0.0
        )
        self.momentum = _validate.real("momentum", momentum, low=0.0)
        self.centered = _validate.flag("centered", centered)
        self.maximize = _validate.flag("maximize", maximize)

    def _init_state(self, x0: np.ndarray) -> dict:
        state = {"square_avg": np.zeros_like(x0)}
        if self.momentum:
            state["momentum_buffer"] = np.zeros_like(x0)
        if self.centered:
            state["grad_avg"] = np.zeros_like(x0)
        return state

    def _update(self, x, g, state, lr):
        d = regularized_gradient(x, g, self.weight_decay, self.maximize)
        a = self.alpha
        v = a * state["square_avg"] + (1 - a) * d * d
        new_state = {"square_avg": v}
        if self.centered:
            m = state["grad_avg"] + (1 - a) * (
                d - state["grad_avg"]
            )  # = a*m + (1-a)*d, as torch's lerp
            new_state["grad_avg"] = m
            s = np.sqrt(v - m * m) + self.eps
        else:
            s = np.sqrt(v) + self.eps
        if not self.momentum:
            return x - lr * d / s, new_state
        b = self.momentum * state["momentum_buffer"] + d / s
        new_state["momentum_buffer"] = b
        return x - lr * b, new_state

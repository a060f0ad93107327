"""Stochastic gradient descent with optional heavy-ball or Nesterov
momentum."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer, regularized_gradient


class SGD(Optimizer):
    r"""SGD, as in ``torch.optim.SGD``; plain gradient descent when given full
    gradients.

    With ``d = g + weight_decay * x`` (``g`` negated when ``maximize``),
    momentum ``mu`` and dampening ``tau``, step t = 1, 2, ... is

        b_1 = d,   b_t = mu * b_{t-1} + (1 - tau) * d
                   (only if mu > 0; no dampening on b_1)
        d  <- d + mu * b_t   if nesterov   else   b_t
        x  <- x - lr * d

    Sources: Robbins & Monro (1951) for SGD; Polyak (1964) for heavy-ball
    momentum; Sutskever et al., "On the importance of initialization and
    momentum in deep learning" (ICML 2013) for this form of Nesterov momentum;
    the algorithm box of ``torch.optim.SGD``.
    """

    def __init__(
        self,
        lr: LearningRate = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ):
        super().__init__(lr)
        self.momentum = _validate.real("momentum", momentum, low=0.0)
        self.dampening = _validate.real("dampening", dampening, low=0.0)
        self.nesterov = _validate.flag("nesterov", nesterov)
        self.weight_decay = _validate.real(
            "weight_decay", weight_decay, low=0.0
        )
        self.maximize = _validate.flag("maximize", maximize)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(
                "nesterov=True requires momentum > 0 and dampening == 0, "
                f"got momentum={self.momentum}, dampening={self.dampening}"
            )

    def _init_state(self, x0: np.ndarray) -> dict:
        return {"momentum_buffer": np.zeros_like(x0)} if self.momentum else {}

    def _update(self, x, g, state, lr):
        d = regularized_gradient(x, g, self.weight_decay, self.maximize)
        if not self.momentum:
            return x - lr * d, {}
        if state["step"] == 0:
            buf = d
        else:
            buf = (
                self.momentum * state["momentum_buffer"]
                + (1 - self.dampening) * d
            )
        d = d + self.momentum * buf if self.nesterov else buf
        return x - lr * d, {"momentum_buffer": buf}

"""Lion: the sign of an interpolation between momentum and the gradient."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer


class Lion(Optimizer):
    r"""Lion (EvoLved Sign Momentum), as in ``lion_pytorch.Lion``.

    With momentum ``m`` (``exp_avg``, zero at the start) and gradient ``g``,
    step t = 1, 2, ... is

        x <- (1 - lr * lambda) * x                  (weight decay)
        c  = beta1 * m + (1 - beta1) * g
        x <- x - lr * sign(c)
        m <- beta2 * m + (1 - beta2) * g

    Every coordinate moves by exactly ``lr`` (or 0 where c = 0), so Lion's
    ``lr`` is typically 3-10 times smaller than AdamW's and its weight decay
    larger by the same factor. ``lambda = weight_decay``; with
    ``decoupled_weight_decay=True`` it is ``weight_decay / lr_0``, where lr_0
    is the initial learning rate (``lr``, or a schedule's value at step 0), so
    that the decay follows the schedule's multiplier ``lr_t / lr_0`` and not
    ``lr_t`` itself.

    Source: Chen, Liang, Huang, Real, Wang, Pham, Dong, Luong, Hsieh, Lu & Le,
    "Symbolic Discovery of Optimization Algorithms" (NeurIPS 2023), Program
    1; the reference implementation ``lion-pytorch`` (Phil Wang).
    """

    def __init__(
        self,
        lr: LearningRate = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(lr)
        self.betas = _validate.betas(betas)
        self.weight_decay = _validate.real(
            "weight_decay", weight_decay, low=0.0
        )
        self.decoupled_weight_decay = _validate.flag(
            "decoupled_weight_decay", decoupled_weight_decay
        )
        if self.decoupled_weight_decay and self.lr_at(0) <= 0:
            raise ValueError(
                "lr must be > 0 with decoupled_weight_decay=True (the decay "
                f"is weight_decay * lr_t / lr_0), got lr_0 = {self.lr_at(0)}"
            )

    def _init_state(self, x0: np.ndarray) -> dict:
        return {"exp_avg": np.zeros_like(x0)}

    def _update(self, x, g, state, lr):
        beta1, beta2 = self.betas
        weight_decay = self.weight_decay
        if self.decoupled_weight_decay:
            weight_decay = weight_decay / self.lr_at(0)
        m = state["exp_avg"]
        x = x * (1 - lr * weight_decay)
        x = x - lr * np.sign(beta1 * m + (1 - beta1) * g)
        return x, {"exp_avg": beta2 * m + (1 - beta2) * g}

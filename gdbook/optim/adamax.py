"""Adamax: Adam with the root mean square replaced by an infinity norm."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer, regularized_gradient


class Adamax(Optimizer):
    r"""Adamax, as in ``torch.optim.Adamax``.

    With ``d = g + weight_decay * x`` (``g`` negated when ``maximize``), step
    t = 1, 2, ... is

        m  <- beta1 * m + (1 - beta1) * d
        u  <- max(beta2 * u, |d| + eps)
        x  <- x - lr / (1 - beta1^t) * m / u

    ``u`` is an exponentially weighted infinity norm of the past gradients:
    the limit p -> infinity of Adam's L^p average, which needs no bias
    correction. As torch, ``eps`` is added inside the maximum (so ``u`` >=
    eps > 0), not to the denominator.

    Sources: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR
    2015), Section 7.1 and Algorithm 2; the algorithm box of
    ``torch.optim.Adamax``.
    """

    def __init__(
        self,
        lr: LearningRate = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ):
        super().__init__(lr)
        self.betas, self.eps, self.weight_decay = _validate.adam_family(
            betas, eps, weight_decay
        )
        self.maximize = _validate.flag("maximize", maximize)

    def _init_state(self, x0: np.ndarray) -> dict:
        return {"exp_avg": np.zeros_like(x0), "exp_inf": np.zeros_like(x0)}

    def _update(self, x, g, state, lr):
        d = regularized_gradient(x, g, self.weight_decay, self.maximize)
        beta1, beta2 = self.betas
        t = state["step"] + 1
        m = state["exp_avg"] + (1 - beta1) * (d - state["exp_avg"])
        u = np.maximum(beta2 * state["exp_inf"], np.abs(d) + self.eps)
        step_size = lr / (1 - beta1**t)
        return x - step_size * (m / u), {"exp_avg": m, "exp_inf": u}

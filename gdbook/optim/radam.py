"""RAdam: Adam whose adaptive step is switched on gradually, as the variance
of its second-moment estimate allows."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer, adam_moments, decay_and_direction


class RAdam(Optimizer):
    r"""RAdam, as in ``torch.optim.RAdam``; with
    ``decoupled_weight_decay=True`` the RAdamW variant.

    With ``d = g + weight_decay * x`` (``g`` negated when ``maximize``; with
    ``decoupled_weight_decay``, instead ``x <- (1 - lr * weight_decay) * x``
    and ``d = g``), step t = 1, 2, ... is

        m  <- beta1 * m + (1 - beta1) * d
        v  <- beta2 * v + (1 - beta2) * d * d
        m^ =  m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t   = rho_inf - 2 t beta2^t / (1 - beta2^t)
        if rho_t > 5:
            r = sqrt((rho_t - 4) (rho_t - 2) rho_inf
                     / ((rho_inf - 4) (rho_inf - 2) rho_t))
            x <- x - lr * m^ * r * sqrt(1 - beta2^t) / (sqrt(v) + eps)
        else:
            x <- x - lr * m^            (SGD with momentum, no adaptivity)

    ``rho_t`` is the length of the simple moving average that v approximates;
    while it is short the variance of the adaptive step size is large (or
    undefined), so RAdam takes plain momentum steps, then scales the adaptive
    step by the rectification r < 1, which tends to 1: a warm-up derived
    rather than tuned. With beta2 <= 0.6, rho_t never exceeds 5 and RAdam is
    SGD with (bias-corrected) momentum throughout.

    Sources: Liu, Jiang, He, Chen, Liu, Gao & Han, "On the Variance of the
    Adaptive Learning Rate and Beyond" (ICLR 2020); Loshchilov & Hutter,
    "Decoupled Weight Decay Regularization" (ICLR 2019) for the decoupled
    decay; the algorithm box of ``torch.optim.RAdam``.
    """

    def __init__(
        self,
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ):
        super().__init__(lr)
        self.betas, self.eps, self.weight_decay = _validate.adam_family(
            betas, eps, weight_decay
        )
        self.decoupled_weight_decay = _validate.flag(
            "decoupled_weight_decay", decoupled_weight_decay
        )
        self.maximize = _validate.flag("maximize", maximize)

    def _init_state(self, x0: np.ndarray) -> dict:
        return {"exp_avg": np.zeros_like(x0), "exp_avg_sq": np.zeros_like(x0)}

    def _update(self, x, g, state, lr):
        x, d = decay_and_direction(self, x, g, lr)
        beta1, beta2 = self.betas
        t = state["step"] + 1
        m, v = adam_moments(state, d, self.betas)
        bias_correction2 = 1 - beta2**t
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / bias_correction2
        if rho_t > 5.0:
            rect = (
                (rho_t - 4)
                * (rho_t - 2)
                * rho_inf
                / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            ) ** 0.5
            adaptive = bias_correction2**0.5 / (np.sqrt(v) + self.eps)
            x = x - m_hat * lr * adaptive * rect
        else:
            x = x - m_hat * lr
        return x, {"exp_avg": m, "exp_avg_sq": v}

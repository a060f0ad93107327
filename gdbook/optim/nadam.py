"""NAdam: Adam with Nesterov momentum, and a momentum schedule."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer, adam_moments, decay_and_direction


class NAdam(Optimizer):
    r"""NAdam, as in ``torch.optim.NAdam``; with
    ``decoupled_weight_decay=True`` the NAdamW variant.

    With ``d = g + weight_decay * x`` (``g`` negated when ``maximize``; with
    ``decoupled_weight_decay``, instead ``x <- (1 - lr * weight_decay) * x``
    and ``d = g``), ``psi = momentum_decay``, step t = 1, 2, ... is

        mu_t      = beta1 * (1 - 0.5 * 0.96^(t * psi))
        mu_{t+1}  = beta1 * (1 - 0.5 * 0.96^((t + 1) * psi))
        P_t       = mu_1 * mu_2 * ... * mu_t                (mu_product)
        m  <- beta1 * m + (1 - beta1) * d
        v  <- beta2 * v + (1 - beta2) * d * d
        D  =  sqrt(v / (1 - beta2^t)) + eps
        x  <- x - lr * (1 - mu_t) / (1 - P_t) * d / D
                - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / D

    The last line is Nesterov's look-ahead: the step mixes the new gradient
    with the momentum as it will be weighted at step t + 1. ``mu_t`` rises
    from about beta1 / 2 towards beta1 (Dozat's momentum warm-up, after
    Sutskever et al. 2013); ``momentum_decay=0`` keeps it at beta1 / 2.

    torch.optim keeps ``mu_product`` as a float32 scalar (the dtype of its
    step counters, unless torch's default dtype is float64); the reference
    rounds it likewise, so that the two agree to float64 round-off.

    Sources: Dozat, "Incorporating Nesterov Momentum into Adam" (ICLR 2016
    Workshop); Loshchilov & Hutter, "Decoupled Weight Decay Regularization"
    (ICLR 2019) for the decoupled decay; the algorithm box of
    ``torch.optim.NAdam``.
    """

    def __init__(
        self,
        lr: LearningRate = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        maximize: bool = False,
    ):
        super().__init__(lr)
        self.betas, self.eps, self.weight_decay = _validate.adam_family(
            betas, eps, weight_decay
        )
        self.momentum_decay = _validate.real(
            "momentum_decay", momentum_decay, low=0.0
        )
        self.decoupled_weight_decay = _validate.flag(
            "decoupled_weight_decay", decoupled_weight_decay
        )
        self.maximize = _validate.flag("maximize", maximize)

    def _init_state(self, x0: np.ndarray) -> dict:
        return {
            "mu_product": 1.0,
            "exp_avg": np.zeros_like(x0),
            "exp_avg_sq": np.zeros_like(x0),
        }

    def _update(self, x, g, state, lr):
        x, d = decay_and_direction(self, x, g, lr)
        beta1, beta2 = self.betas
        t = state["step"] + 1
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        mu_product = float(np.float32(state["mu_product"]) * np.float32(mu))
        m, v = adam_moments(state, d, self.betas)
        denom = np.sqrt(v / (1 - beta2**t)) + self.eps
        x = x - lr * (1.0 - mu) / (1.0 - mu_product) * (d / denom)
        x = x - lr * mu_next / (1.0 - mu_product * mu_next) * (m / denom)
        return x, {"mu_product": mu_product, "exp_avg": m, "exp_avg_sq": v}

"""Adam and AdamW: momentum on the gradient, divided by the root of a moving
average of its square."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer, adam_moments, regularized_gradient


class Adam(Optimizer):
    r"""Adam, as in ``torch.optim.Adam``; with ``amsgrad=True`` the AMSGrad
    variant.

    With ``d = g + weight_decay * x`` (``g`` negated when ``maximize``), step
    t = 1, 2, ... is

        m  <- beta1 * m + (1 - beta1) * d
        v  <- beta2 * v + (1 - beta2) * d * d
        v^ <- max(v^, v)    if amsgrad   (and v^ replaces v below)
        x  <- x - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    The factors 1 - beta^t correct the bias of m and v towards their zero
    start.

    Sources: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR
    2015); Reddi, Kale & Kumar, "On the Convergence of Adam and Beyond" (ICLR
    2018) for AMSGrad; the algorithm box of ``torch.optim.Adam``.
    """

    def __init__(
        self,
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ):
        super().__init__(lr)
        self.betas, self.eps, self.weight_decay = _validate.adam_family(
            betas, eps, weight_decay
        )
        self.amsgrad = _validate.flag("amsgrad", amsgrad)
        self.maximize = _validate.flag("maximize", maximize)

    def _init_state(self, x0: np.ndarray) -> dict:
        state = {"exp_avg": np.zeros_like(x0), "exp_avg_sq": np.zeros_like(x0)}
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(x0)
        return state

    def _decay(
        self, x: np.ndarray, g: np.ndarray, lr: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Adam's weight decay is coupled: an L2 term in the gradient, so it is
        rescaled by v."""
        return x, regularized_gradient(x, g, self.weight_decay, self.maximize)

    def _update(self, x, g, state, lr):
        x, d = self._decay(x, g, lr)
        beta1, beta2 = self.betas
        t = state["step"] + 1
        m, v = adam_moments(state, d, self.betas)
        new_state = {"exp_avg": m, "exp_avg_sq": v}
        if self.amsgrad:
            v = new_state["max_exp_avg_sq"] = np.maximum(
                state["max_exp_avg_sq"], v
            )
        step_size = lr / (1 - beta1**t)
        denom = np.sqrt(v) / (1 - beta2**t) ** 0.5 + self.eps
        return x - step_size * m / denom, new_state


class AdamW(Adam):
    r"""AdamW, as in ``torch.optim.AdamW``: Adam with decoupled weight decay.

    Before the Adam step (computed from ``g`` alone), x shrinks towards 0:

        x <- (1 - lr * weight_decay) * x

    so every coordinate decays at the same rate, whatever its gradient history;
    with coupled (L2) decay, Adam's division by sqrt(v) weakens the decay
    exactly where gradients are large.

    Sources: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR
    2019); the algorithm box of ``torch.optim.AdamW``.
    """

    def __init__(
        self,
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ):
        super().__init__(lr, betas, eps, weight_decay, amsgrad, maximize)

    def _decay(self, x, g, lr):
        """AdamW's weight decay is decoupled: x shrinks directly and the
        gradient is left as it is."""
        return x * (1 - lr * self.weight_decay), (-g if self.maximize else g)

"""Schedule-Free AdamW: no learning-rate schedule, an average of the iterates
instead."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer


def _lerp(start, end, weight):
    """``start + weight * (end - start)`` with torch.lerp's two branches."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


class AdamWScheduleFree(Optimizer):
    r"""Schedule-Free AdamW, as in ``schedulefree.AdamWScheduleFree``.

    Three sequences: z, the base (SGD-like) iterates; x, their weighted
    average, the point to evaluate and to keep; and y, the point gradients are
    taken at, between the two. ``step`` takes and returns y (what the torch
    parameters hold in train mode); :meth:`eval_point` gives x (what they hold
    after ``opt.eval()``), :meth:`train_point` goes back. Step t = 1, 2, ...
    with gradient g at y is

        lr_t  = lr * min(1, t / warmup_steps)
        lr_max = max(lr_max, lr_t)
        w_t = t^r * lr_max^weight_lr_power,   c_t = w_t / sum_{s<=t} w_s
        v <- beta2 * v + (1 - beta2) * g * g
        u = g / (sqrt(v / (1 - beta2^t)) + eps) + weight_decay * y
        z <- z - lr_t * u
        x <- (1 - c_t) * x + c_t * z
        y  = (1 - beta1) * z + beta1 * x

    with z = x = y = x0 at the start. The code updates y alone, as

        y <- (1 - c_t) * y + c_t * z_old + lr_t * (beta1 * (1 - c_t) - 1) * u

    and recovers x = (y - (1 - beta1) * z) / beta1 when asked. There is no
    first moment: beta1 interpolates between Polyak-Ruppert averaging
    (beta1 -> 1) and primal averaging (beta1 = 0, where x is lost from y
    and z, so beta1 must be > 0 here). Weight decay is taken at y and, unlike
    AdamW's, is inside u. ``weight_sum`` (sum of w_s) and ``lr_max`` are
    state, as are ``z`` and ``exp_avg_sq`` (v).

    Source: Defazio, Yang, Mehta, Mishchenko, Khaled & Cutkosky, "The Road
    Less Scheduled" (NeurIPS 2024), Algorithm 1; the reference
    implementation ``schedulefree`` (Facebook Research).
    """

    def __init__(
        self,
        lr: LearningRate = 0.0025,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        warmup_steps: int = 0,
        r: float = 0.0,
        weight_lr_power: float = 2.0,
    ):
        super().__init__(lr)
        self.betas = _validate.betas(betas)
        if self.betas[0] == 0:
            raise ValueError(
                "betas[0] must be > 0 (x is recovered from y and z by "
                "dividing by beta1), got 0.0"
            )
        self.eps = _validate.real("eps", eps, low=0.0)
        self.weight_decay = _validate.real(
            "weight_decay", weight_decay, low=0.0
        )
        self.warmup_steps = _validate.integer(
            "warmup_steps", warmup_steps, low=0
        )
        self.r = _validate.real("r", r, low=0.0)
        self.weight_lr_power = _validate.real(
            "weight_lr_power", weight_lr_power, low=0.0
        )

    def _init_state(self, x0: np.ndarray) -> dict:
        return {
            "z": x0.copy(),
            "exp_avg_sq": np.zeros_like(x0),
            "weight_sum": 0.0,
            "lr_max": -1.0,
        }

    def _update(self, y, g, state, lr):
        beta1, beta2 = self.betas
        k = state["step"]
        if k < self.warmup_steps:
            lr = lr * ((k + 1) / self.warmup_steps)
        lr_max = max(lr, state["lr_max"])
        weight = (k + 1) ** self.r * lr_max**self.weight_lr_power
        weight_sum = state["weight_sum"] + weight
        ckp1 = weight / weight_sum if weight_sum else 0.0
        v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
        u = g / (np.sqrt(v / (1 - beta2 ** (k + 1))) + self.eps)
        if self.weight_decay:
            u = u + self.weight_decay * y
        z = state["z"]
        y = _lerp(y, z, ckp1) + lr * (beta1 * (1 - ckp1) - 1) * u
        return y, {
            "z": z - lr * u,
            "exp_avg_sq": v,
            "weight_sum": weight_sum,
            "lr_max": lr_max,
        }

    def eval_point(self, y, state: dict) -> np.ndarray:
        """The averaged point x, from the point y that :meth:`step` returned
        (``schedulefree``'s ``opt.eval()``)."""
        y = _validate.vector("y", y)
        return _lerp(y, state["z"], 1 - 1 / self.betas[0])

    def train_point(self, x, state: dict) -> np.ndarray:
        """The point y that :meth:`step` takes, from the averaged point x
        (``schedulefree``'s ``opt.train()``)."""
        x = _validate.vector("x", x)
        return _lerp(x, state["z"], 1 - self.betas[0])

"""LARS and LAMB: layer-wise trust ratios for training with large batches.

Both scale each layer's step by the ratio of the layer's weight norm to its
update norm, so that no layer moves by more than a set fraction of its size
however large the global learning rate (the linear scaling rule makes it
large when the batch is).
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer


def trust_ratio(weight_norm: float, update_norm: float) -> float:
    """weight_norm / update_norm, or 1 when either is zero (a layer at the
    origin, or one that does not move, keeps the global step)."""
    if weight_norm > 0 and update_norm > 0:
        return weight_norm / update_norm
    return 1.0


def layer_sizes(layers) -> tuple[int, ...] | None:
    """``layers``, the sizes of consecutive blocks of x, checked; None means
    one layer, the whole vector."""
    if layers is None:
        return None
    sizes = tuple(layers) if isinstance(layers, (tuple, list)) else ()
    if not sizes or any(
        isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes
    ):
        raise ValueError(
            "layers must be None or a non-empty sequence of positive int "
            f"sizes, got {layers!r}"
        )
    return sizes


def _blocks(sizes: tuple[int, ...] | None, size: int) -> list[slice]:
    """The slices of x of each layer; the sizes must add up to x.size."""
    if sizes is None:
        return [slice(0, size)]
    if sum(sizes) != size:
        raise ValueError(
            f"layers {sizes} add up to {sum(sizes)}, but x.size = {size}"
        )
    ends = np.cumsum(sizes)
    return [slice(end - n, end) for n, end in zip(sizes, ends, strict=True)]


class LARS(Optimizer):
    r"""LARS: SGD with momentum and a layer-wise learning rate.

    For each layer l (a block of ``layers``) with weights w and gradient g,

        lambda_l = trust * ||w|| / (||g|| + weight_decay * ||w||)
        v        <- momentum * v + lr * lambda_l * (g + weight_decay * w)
        w        <- w - v

    with lambda_l = 1 where ||w|| or ||g|| is zero.

    Source: You, Gitman & Ginsburg, "Large Batch Training of Convolutional
    Networks" (2017), Algorithm 1 (``trust`` is their eta, ``lr`` their
    global gamma_t).
    """

    def __init__(
        self,
        lr: LearningRate = 1.0,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        trust: float = 0.001,
        layers=None,
    ):
        super().__init__(lr)
        self.momentum = _validate.real(
            "momentum", momentum, low=0.0, high=1.0, high_open=True
        )
        self.weight_decay = _validate.real(
            "weight_decay", weight_decay, low=0.0
        )
        self.trust = _validate.real("trust", trust, low=0.0, low_open=True)
        self.layers = layer_sizes(layers)

    def _init_state(self, x0: np.ndarray) -> dict:
        _blocks(self.layers, x0.size)
        return {"momentum_buffer": np.zeros_like(x0)}

    def _update(self, x, g, state, lr):
        v = state["momentum_buffer"].copy()
        for block in _blocks(self.layers, x.size):
            w, grad = x[block], g[block]
            w_norm, g_norm = np.linalg.norm(w), np.linalg.norm(grad)
            local = (
                self.trust * w_norm / (g_norm + self.weight_decay * w_norm)
                if w_norm > 0 and g_norm > 0
                else 1.0
            )
            v[block] = self.momentum * v[block] + lr * local * (
                grad + self.weight_decay * w
            )
        return x - v, {"momentum_buffer": v}


class LAMB(Optimizer):
    r"""LAMB: Adam's direction with a layer-wise trust ratio.

    With m, v as in Adam (bias-corrected m^, v^) and, for each layer l,

        r  = m^ / (sqrt(v^) + eps) + weight_decay * w
        w <- w - lr * (||w|| / ||r||) * r

    with the ratio 1 where ||w|| or ||r|| is zero.

    Source: You et al., "Large Batch Optimization for Deep Learning: Training
    BERT in 76 minutes" (ICLR 2020), Algorithm 2 with phi the identity.
    """

    def __init__(
        self,
        lr: LearningRate = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        layers=None,
    ):
        super().__init__(lr)
        self.betas, self.eps, self.weight_decay = _validate.adam_family(
            betas, eps, weight_decay
        )
        self.layers = layer_sizes(layers)

    def _init_state(self, x0: np.ndarray) -> dict:
        _blocks(self.layers, x0.size)
        return {"exp_avg": np.zeros_like(x0), "exp_avg_sq": np.zeros_like(x0)}

    def _update(self, x, g, state, lr):
        beta1, beta2 = self.betas
        t = state["step"] + 1
        m = beta1 * state["exp_avg"] + (1 - beta1) * g
        v = beta2 * state["exp_avg_sq"] + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        r = m_hat / (np.sqrt(v_hat) + self.eps) + self.weight_decay * x
        x_new = x.copy()
        for block in _blocks(self.layers, x.size):
            ratio = trust_ratio(
                np.linalg.norm(x[block]), np.linalg.norm(r[block])
            )
            x_new[block] = x[block] - lr * ratio * r[block]
        return x_new, {"exp_avg": m, "exp_avg_sq": v}

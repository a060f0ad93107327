"""Muon: momentum, orthogonalised by a Newton-Schulz iteration, for a matrix
parameter."""

from __future__ import annotations

import math

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def _lerp(start, end, weight):
    """``start + weight * (end - start)`` with torch.lerp's two branches."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def newton_schulz(
    G: np.ndarray,
    coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
    steps: int = 5,
    eps: float = 1e-7,
) -> np.ndarray:
    r"""An approximate orthogonalisation U S' V^T of ``G = U S V^T``.

    With X = G / max(||G||_F, eps) (so every singular value is <= 1), taken
    transposed when G has more rows than columns, each step is

        X <- a X + (b (X X^T) + c (X X^T)^2) X

    which maps each singular value s to p(s) = a s + b s^3 + c s^5. The
    default (a, b, c) make p steep at 0, so small singular values grow fast;
    after 5 steps they lie roughly in [0.7, 1.2] rather than at 1.
    """
    a, b, c = coefficients
    X = G.T if G.shape[0] > G.shape[1] else G
    X = X / max(np.linalg.norm(X), eps)
    for _ in range(steps):
        gram = X @ X.T
        X = a * X + (b * gram + c * gram @ gram) @ X
    return X.T if G.shape[0] > G.shape[1] else X


class Muon(Optimizer):
    r"""Muon, as in ``torch.optim.Muon``, for one matrix parameter of shape
    ``shape`` = (A, B), stored flat (row-major) in x.

    With G the gradient as an A x B matrix, step t = 1, 2, ... is

        B_t = mu * B_{t-1} + (1 - mu) * G                 (B_0 = 0)
        U   = (1 - mu) * G + mu * B_t   if nesterov   else   B_t
        O   = NS(U)      (ns_steps Newton-Schulz steps, :func:`newton_schulz`)
        X  <- (1 - lr * weight_decay) * X - lr' * O

    with lr' = lr * sqrt(max(1, A / B)) (``adjust_lr_fn`` None or
    "original"), lr * 0.2 * sqrt(max(A, B)) ("match_rms_adamw", so that the
    update's RMS is AdamW's and its lr and weight decay carry over). O has all
    singular values near 1: the update moves every direction of the matrix by
    about the same amount, however ill-conditioned the momentum.

    torch.optim.Muon runs the Newton-Schulz iteration in bfloat16; this
    reference runs it in float64 (gdbook's tests compare with torch's code
    with its bfloat16 cast removed, and with the cast to bfloat16 accuracy).

    Sources: Jordan, Jin, Boza, You, Cesista, Newhouse & Bernstein, "Muon: An
    optimizer for hidden layers in neural networks" (blog post, 2024,
    kellerjordan.github.io/posts/muon); Liu et al., "Muon is Scalable for LLM
    Training" (arXiv:2502.16982, 2025) for "match_rms_adamw"; the algorithm
    box of ``torch.optim.Muon``.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        lr: LearningRate = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ):
        super().__init__(lr)
        if not isinstance(shape, (tuple, list)) or len(shape) != 2:
            raise TypeError(
                f"shape must be a pair (rows, columns), got {shape!r}"
            )
        self.shape = tuple(
            _validate.integer(f"shape[{i}]", n, low=1)
            for i, n in enumerate(shape)
        )
        self.weight_decay = _validate.real(
            "weight_decay", weight_decay, low=0.0
        )
        self.momentum = _validate.real("momentum", momentum, low=0.0)
        self.nesterov = _validate.flag("nesterov", nesterov)
        if (
            not isinstance(ns_coefficients, (tuple, list))
            or len(ns_coefficients) != 3
        ):
            raise TypeError(
                "ns_coefficients must be a triple (a, b, c), got "
                f"{ns_coefficients!r}"
            )
        self.ns_coefficients = tuple(
            _validate.real(f"ns_coefficients[{i}]", c)
            for i, c in enumerate(ns_coefficients)
        )
        self.eps = _validate.real("eps", eps, low=0.0)
        self.ns_steps = _validate.integer("ns_steps", ns_steps, low=0)
        if self.ns_steps >= 100:
            raise ValueError(f"ns_steps must be < 100, got {self.ns_steps}")
        if adjust_lr_fn not in (None, "original", "match_rms_adamw"):
            raise ValueError(
                "adjust_lr_fn must be None, 'original' or 'match_rms_adamw', "
                f"got {adjust_lr_fn!r}"
            )
        self.adjust_lr_fn = adjust_lr_fn

    def adjusted_lr(self, lr: float) -> float:
        """lr' of the update O for this shape (see the class docstring)."""
        rows, columns = self.shape
        if self.adjust_lr_fn == "match_rms_adamw":
            return lr * (0.2 * math.sqrt(max(rows, columns)))
        return lr * math.sqrt(max(1, rows / columns))

    def _init_state(self, x0: np.ndarray) -> dict:
        if x0.size != self.shape[0] * self.shape[1]:
            raise ValueError(
                f"x0 must have shape[0] * shape[1] = "
                f"{self.shape[0] * self.shape[1]} entries for shape "
                f"{self.shape}, got {x0.size}"
            )
        return {"momentum_buffer": np.zeros_like(x0)}

    def _update(self, x, g, state, lr):
        G = g.reshape(self.shape)
        buf = _lerp(
            state["momentum_buffer"].reshape(self.shape), G, 1 - self.momentum
        )
        update = _lerp(G, buf, self.momentum) if self.nesterov else buf
        ortho = newton_schulz(
            update, self.ns_coefficients, self.ns_steps, self.eps
        )
        x = x * (1 - lr * self.weight_decay)
        x = x - self.adjusted_lr(lr) * ortho.reshape(-1)
        return x, {"momentum_buffer": buf.reshape(-1)}

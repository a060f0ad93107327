"""Adafactor: Adam-like steps with a factored second moment (a row and a
column average for a matrix) and steps relative to the parameter's size."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer


class Adafactor(Optimizer):
    r"""Adafactor, as in ``torch.optim.Adafactor``.

    With ``G`` = g (negated when ``maximize``) reshaped to ``shape``,
    ``eps = (eps1, eps2)`` (``eps1=None``: float64's machine epsilon) and
    RMS(z) = ||z|| / sqrt(size of z), step t = 1, 2, ... is

        b_t   = t^beta2_decay                    (weight of the new square)
        rho   = min(lr, 1 / sqrt(t))
        alpha = max(eps2, RMS(x)) * rho          (x before the decay)
        x     <- (1 - lr * weight_decay) * x
        if G has 2 or more axes (factored, over its last two, m x n):
            R <- (1 - b_t) * R + b_t * mean of G*G over the last axis
            C <- (1 - b_t) * C + b_t * mean of G*G over the next-to-last
            V =  R C / max(mean of R over the next-to-last axis, eps1)
        else:
            V <- (1 - b_t) * V + b_t * G*G
        U     =  G / sqrt(max(V, eps1^2))
        x     <- x - alpha / max(1, RMS(U) / d) * U

    For an m x n matrix the state is R (m x 1) and C (1 x n), m + n numbers
    instead of Adam's m * n: V = R C / mean(R) is the rank-one matrix with
    those row and column means. A vector parameter keeps the full V. x is
    1-D, as for every gdbook optimizer; pass ``shape`` to treat it as a
    matrix (or a stack of matrices) of that shape, as torch.optim treats a
    parameter of that shape. There is no first moment (the paper's beta1 = 0)
    and, as in torch.optim, ``lr`` caps the relative step ``rho`` (the paper
    uses 0.01) and scales the decoupled weight decay.

    Sources: Shazeer & Stern, "Adafactor: Adaptive Learning Rates with
    Sublinear Memory Cost" (ICML 2018); the algorithm box of
    ``torch.optim.Adafactor``, whose placement of eps1 differs from the
    paper's.
    """

    def __init__(
        self,
        lr: LearningRate = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        maximize: bool = False,
        shape: tuple[int, ...] | None = None,
    ):
        super().__init__(lr)
        self.beta2_decay = _validate.real("beta2_decay", beta2_decay, high=0.0)
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise TypeError(f"eps must be a pair (eps1, eps2), got {eps!r}")
        self.eps = (
            None
            if eps[0] is None
            else _validate.real("eps[0]", eps[0], low=0.0),
            _validate.real("eps[1]", eps[1], low=0.0),
        )
        self.d = _validate.real("d", d, low=1.0)
        self.weight_decay = _validate.real(
            "weight_decay", weight_decay, low=0.0
        )
        self.maximize = _validate.flag("maximize", maximize)
        if shape is not None:
            if not isinstance(shape, (tuple, list)) or not all(
                isinstance(n, numbers.Integral) and not isinstance(n, bool)
                for n in shape
            ):
                raise TypeError(
                    f"shape must be a tuple of integers or None, got {shape!r}"
                )
            if not shape or min(shape) < 1:
                raise ValueError(
                    f"shape must have positive sizes, got {tuple(shape)}"
                )
            shape = tuple(int(n) for n in shape)
        self.shape = shape

    def _shape(self, x: np.ndarray) -> tuple[int, ...]:
        """The shape x is updated in: ``shape``, which must hold x's
        entries."""
        if self.shape is None:
            return x.shape
        if math.prod(self.shape) != x.size:
            raise ValueError(
                f"shape {self.shape} holds {math.prod(self.shape)} entries "
                f"but x has {x.size}"
            )
        return self.shape

    def _state_shapes(self, x: np.ndarray) -> dict:
        """The shape of each state array for x: the factors of a matrix,
        else one array like x."""
        shape = self._shape(x)
        if len(shape) < 2:
            return {"variance": x.shape}
        return {
            "row_var": shape[:-1] + (1,),
            "col_var": shape[:-2] + (1, shape[-1]),
        }

    def _init_state(self, x0: np.ndarray) -> dict:
        return {
            key: np.zeros(shape)
            for key, shape in self._state_shapes(x0).items()
        }

    def _update(self, x, g, state, lr):
        t = state["step"] + 1
        g = -g if self.maximize else g
        eps1, eps2 = self.eps
        eps1 = np.finfo(float).eps if eps1 is None else eps1
        weight = t**self.beta2_decay
        rho = min(lr, 1 / t**0.5)
        alpha = max(eps2, np.linalg.norm(x) / x.size**0.5) * rho
        if self.weight_decay:
            x = x * (1 - lr * self.weight_decay)
        G = g.reshape(self._shape(x))
        if G.ndim > 1:
            row, col = state["row_var"], state["col_var"]
            row = row + weight * ((G * G).mean(axis=-1, keepdims=True) - row)
            col = col + weight * ((G * G).mean(axis=-2, keepdims=True) - col)
            new_state = {"row_var": row, "col_var": col}
            V = row @ col / np.maximum(row.mean(axis=-2, keepdims=True), eps1)
        else:
            V = state["variance"]
            V = V + weight * (G * G - V)
            new_state = {"variance": V}
        U = G / np.sqrt(np.maximum(V, eps1 * eps1))
        denom = max(1.0, np.linalg.norm(U) / (U.size**0.5 * self.d))
        return x - alpha / denom * U.ravel(), new_state

"""Gradient checks: is the gradient you derived the gradient of the loss you
wrote?

Finite differences (Nocedal & Wright 2006, sec. 8.1): the forward quotient
(f(x + h e_j) - f(x)) / h errs by O(h) from truncation, the central quotient
(f(x + h e_j) - f(x - h e_j)) / (2h) by O(h^2); both add a rounding error of
order eps |f| / h (eps = 2.2e-16 in float64). The best h balances the two:
about eps^(1/2) ~ 1e-8 for forward and eps^(1/3) ~ 1e-5 for central
differences.

The Taylor test needs no step choice: along a direction v the remainder f(x + h
v) - f(x) - h grad f(x).v shrinks like h^2 if the gradient is right and only
like h if it is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import _validate

_METHODS = ("central", "forward")


def numerical_gradient(
    fun: Callable, x, h: float = 1e-6, method: str = "central"
) -> np.ndarray:
    """The finite-difference gradient of the scalar function ``fun`` at ``x``,
    one coordinate at a time."""
    x = _validate.vector("x", x)
    h = _validate.real("h", h, low=0.0, low_open=True)
    if method not in _METHODS:
        raise ValueError(
            f"method must be one of {', '.join(_METHODS)}; got {method!r}"
        )
    f0 = float(fun(x)) if method == "forward" else None
    g = np.empty_like(x)
    for j in range(len(x)):
        e = np.zeros_like(x)
        e[j] = h
        g[j] = (
            (fun(x + e) - f0) / h
            if method == "forward"
            else (fun(x + e) - fun(x - e)) / (2 * h)
        )
    return g


def relative_error(a, b) -> float:
    """||a - b|| / max(||a||, ||b||): 0 for equal vectors, 1/2 when one is
    twice the other, 2 for a = -b."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must have the same shape, got {a.shape} and {b.shape}"
        )
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


@dataclass(frozen=True)
class GradientCheck:
    """The outcome of :func:`check_gradient`: both gradients, their relative
    error and the worst coordinate."""

    analytic: np.ndarray
    numeric: np.ndarray
    relative_error: float
    worst_index: int
    rtol: float

    @property
    def ok(self) -> bool:
        """True when the relative error is at most ``rtol``."""
        return self.relative_error <= self.rtol

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "MISMATCH"
        j = self.worst_index
        return (
            f"{verdict}: relative error {self.relative_error:.1e} (rtol "
            f"{self.rtol:.0e}); worst coordinate "
            f"{j}: analytic {self.analytic[j]:.6g}, finite difference "
            f"{self.numeric[j]:.6g}"
        )


def check_gradient(
    fun: Callable,
    grad: Callable,
    x,
    h: float = 1e-6,
    rtol: float = 1e-6,
    method: str = "central",
) -> GradientCheck:
    """Compare ``grad(x)`` with finite differences of ``fun`` at ``x``.

    A correct float64 gradient typically agrees to a relative error below 1e-8
    with central differences and h = 1e-6; an error near 1 means a wrong
    formula, one near 1/2 a factor of 2.
    """
    x = _validate.vector("x", x)
    rtol = _validate.real("rtol", rtol, low=0.0)
    analytic = _validate.same_shape("grad(x)", grad(x), x)
    numeric = numerical_gradient(fun, x, h, method)
    worst = int(np.argmax(np.abs(analytic - numeric)))
    return GradientCheck(
        analytic, numeric, relative_error(analytic, numeric), worst, rtol
    )


def error_vs_step(
    fun: Callable, grad: Callable, x, steps, method: str = "central"
) -> np.ndarray:
    """The relative error of the finite-difference gradient against ``grad(x)``
    for each step h in ``steps``."""
    x = _validate.vector("x", x)
    analytic = _validate.same_shape("grad(x)", grad(x), x)
    return np.array(
        [
            relative_error(numerical_gradient(fun, x, h, method), analytic)
            for h in steps
        ]
    )


def taylor_remainders(
    fun: Callable, grad: Callable, x, direction, steps
) -> np.ndarray:
    """|f(x + h v) - f(x) - h grad(x).v| for each h in ``steps``: O(h^2) for a
    right gradient, O(h) otherwise."""
    x = _validate.vector("x", x)
    v = _validate.vector("direction", direction, dim=len(x))
    slope = float(_validate.same_shape("grad(x)", grad(x), x) @ v)
    f0 = float(fun(x))
    return np.array([abs(fun(x + h * v) - f0 - h * slope) for h in steps])


def convergence_order(steps, values) -> float:
    """The least-squares slope of log(values) against log(steps): 2 for a right
    gradient's Taylor remainders."""
    steps, values = (
        np.asarray(steps, dtype=float),
        np.asarray(values, dtype=float),
    )
    if steps.shape != values.shape or steps.ndim != 1 or len(steps) < 2:
        raise ValueError(
            "steps and values must be 1-D of equal length >= 2, got "
            f"{steps.shape}, {values.shape}"
        )
    if np.any(steps <= 0) or np.any(values <= 0):
        raise ValueError(
            "steps and values must be positive to take logarithms"
        )
    return float(np.polyfit(np.log(steps), np.log(values), 1)[0])

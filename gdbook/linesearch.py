"""Line searches: how far to go along a descent direction d from x.

Both searches look at phi(a) = f(x + a d), with slope phi'(0) = grad f(x)^T
d < 0:

* Armijo (sufficient decrease): phi(a) <= phi(0) + c1 a phi'(0), found by
  backtracking a <- shrink * a.
* strong Wolfe: Armijo and |phi'(a)| <= c2 |phi'(0)| (the slope has flattened
  enough), found by bracketing and zooming, Nocedal & Wright, *Numerical
  Optimization* (2006), Algorithms 3.5 and 3.6.

Also here, two step-size rules for gradient descent that need no L, each a
:class:`gdbook.methods.Method`: :class:`ArmijoGD`, whose step comes from
Armijo backtracking (run by ``gdbook.minimize(..., method="gd-armijo")``),
and :class:`PolyakGD`, whose step comes from the known minimum f* (run by
``gdbook.minimize(..., method="gd-polyak")``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from . import _validate
from .methods import Method


class LineSearchError(RuntimeError):
    """No step satisfying the conditions was found within the evaluation
    budget."""


@dataclass(frozen=True)
class LineSearchResult:
    """The accepted step ``step``, f and (strong Wolfe only) the gradient
    there, and evaluations used."""

    step: float
    f: float
    g: np.ndarray | None
    nfev: int


def _slope(g0, d) -> float:
    slope = float(np.dot(g0, d))
    if not slope < 0:
        raise ValueError(
            "d must be a descent direction (grad f(x)^T d < 0), got slope "
            f"{slope:.3g}"
        )
    return slope


def armijo_holds(f0, slope, step, f_new, c1=1e-4) -> bool:
    """The sufficient-decrease (Armijo) condition f(x + a d) <= f(x) + c1 a
    grad f(x)^T d."""
    return bool(f_new <= f0 + c1 * step * slope)


def curvature_holds(slope, slope_new, c2=0.9) -> bool:
    """The strong Wolfe curvature condition |grad f(x + a d)^T d| <= c2 |grad
    f(x)^T d|."""
    return bool(abs(slope_new) <= c2 * abs(slope))


def backtracking(
    problem,
    x,
    d,
    f0,
    g0,
    step: float = 1.0,
    c1: float = 1e-4,
    shrink: float = 0.5,
    max_evals: int = 60,
) -> LineSearchResult:
    """Armijo backtracking: try a = step, shrink * step, ... until f(x + a
    d) <= f(x) + c1 a g0^T d.

    Terminates for any descent direction of a smooth f because the condition
    holds for all small a (Nocedal & Wright 2006, Algorithm 3.1).
    """
    c1 = _validate.real(
        "c1", c1, low=0.0, high=1.0, low_open=True, high_open=True
    )
    shrink = _validate.real(
        "shrink", shrink, low=0.0, high=1.0, low_open=True, high_open=True
    )
    step = _validate.real("step", step, low=0.0, low_open=True)
    max_evals = _validate.integer("max_evals", max_evals, low=1)
    slope = _slope(g0, d)
    for evals in range(1, max_evals + 1):
        f_new = problem.value(x + step * d)
        if armijo_holds(f0, slope, step, f_new, c1):
            return LineSearchResult(step, f_new, None, evals)
        step *= shrink
    raise LineSearchError(
        f"backtracking found no Armijo step in {max_evals} evaluations "
        f"(last step {step:.3g})"
    )


def strong_wolfe(
    problem,
    x,
    d,
    f0,
    g0,
    step: float = 1.0,
    c1: float = 1e-4,
    c2: float = 0.9,
    max_evals: int = 30,
) -> LineSearchResult:
    """A step satisfying the strong Wolfe conditions (0 < c1 < c2 < 1), by
    bracketing then zooming.

    Nocedal & Wright (2006), Algorithms 3.5 (bracketing, doubling the step) and
    3.6 (zoom, with a safeguarded cubic interpolation). Returns the gradient at
    the accepted point as well.
    """
    c1 = _validate.real(
        "c1", c1, low=0.0, high=1.0, low_open=True, high_open=True
    )
    c2 = _validate.real(
        "c2", c2, low=c1, high=1.0, low_open=True, high_open=True
    )
    step = _validate.real("step", step, low=0.0, low_open=True)
    max_evals = _validate.integer("max_evals", max_evals, low=1)
    slope0 = _slope(g0, d)
    evals = 0

    def phi(a):
        nonlocal evals
        evals += 1
        if evals > max_evals:
            raise LineSearchError(
                f"strong Wolfe search used its {max_evals} evaluations "
                "without success"
            )
        x_a = x + a * d
        f_a = problem.value(x_a)
        g_a = (
            problem.grad(x_a) if np.isfinite(f_a) else np.full_like(x, np.nan)
        )
        return f_a, g_a, float(np.dot(g_a, d))

    def zoom(lo, hi):
        # lo, hi = (step, f, slope); lo satisfies Armijo with the lowest f so
        # far; the minimiser is between
        while True:
            a = _cubic_minimiser(lo, hi)
            f_a, g_a, s_a = phi(a)
            if (
                not np.isfinite(f_a)
                or not armijo_holds(f0, slope0, a, f_a, c1)
                or f_a >= lo[1]
            ):
                hi = (a, f_a, s_a)
            else:
                if curvature_holds(slope0, s_a, c2):
                    return LineSearchResult(a, f_a, g_a, evals)
                if s_a * (hi[0] - lo[0]) >= 0:
                    hi = lo
                lo = (a, f_a, s_a)

    previous = (0.0, f0, slope0)
    while True:
        f_a, g_a, s_a = phi(step)
        current = (step, f_a, s_a)
        if (
            not np.isfinite(f_a)
            or not armijo_holds(f0, slope0, step, f_a, c1)
            or (previous[0] > 0 and f_a >= previous[1])
        ):
            return zoom(previous, current)
        if curvature_holds(slope0, s_a, c2):
            return LineSearchResult(step, f_a, g_a, evals)
        if s_a >= 0:
            return zoom(current, previous)
        previous, step = current, 2.0 * step


def _cubic_minimiser(lo, hi) -> float:
    """Minimiser of the cubic through (a, f, f') at both ends, kept 10% inside
    the interval; else bisect."""
    (a, fa, da), (b, fb, db) = lo, hi
    left, right = min(a, b), max(a, b)
    margin = 0.1 * (right - left)
    if np.isfinite(fb) and np.isfinite(db):
        d1 = da + db - 3 * (fa - fb) / (a - b)
        radicand = d1 * d1 - da * db
        if radicand >= 0:
            d2 = float(np.sign(b - a) * np.sqrt(radicand))
            denominator = db - da + 2 * d2
            candidate = (
                b - (b - a) * (db + d2 - d1) / denominator
                if denominator
                else np.nan
            )
            if left + margin <= candidate <= right - margin:
                return float(candidate)
    return 0.5 * (left + right)


class ArmijoGD(Method):
    """Gradient descent, d = -grad f(x), with the step from Armijo
    backtracking.

    Each search starts from ``grow`` times the previous accepted step
    (``initial_step`` at first), so the step can lengthen again after a short
    one. No knowledge of L is needed.
    """

    def __init__(
        self,
        initial_step: float = 1.0,
        c1: float = 1e-4,
        shrink: float = 0.5,
        grow: float = 2.0,
    ):
        self.initial_step = _validate.real(
            "initial_step", initial_step, low=0.0, low_open=True
        )
        self.c1 = _validate.real(
            "c1", c1, low=0.0, high=1.0, low_open=True, high_open=True
        )
        self.shrink = _validate.real(
            "shrink", shrink, low=0.0, high=1.0, low_open=True, high_open=True
        )
        self.grow = _validate.real("grow", grow, low=1.0)

    def init(self, problem, x) -> dict:
        return {"step_size": self.initial_step / self.grow}

    def step(self, problem, x, state):
        f, g = problem.value(x), problem.grad(x)
        search = backtracking(
            problem,
            x,
            -g,
            f,
            g,
            state["step_size"] * self.grow,
            self.c1,
            self.shrink,
        )
        return x - search.step * g, search.step, {"step_size": search.step}


# how far f(x) may lie below f_star, relative to max(|f|, |f_star|, 1),
# before PolyakGD calls f_star wrong: a step onto the level set f = f_star
# can land a few rounding errors below it
_ROUND_OFF = 1e-12


class PolyakGD(Method):
    r"""Gradient descent with Polyak's step size, for an f whose minimum f* is
    known:

        a_t = min((f(x_t) - f*) / ||g_t||^2, max_step),   x <- x - a_t g_t

    with g_t a gradient, or a subgradient of a nonsmooth convex f. No L is
    needed. For convex f each step brings x closer to every minimiser x*:
    ||x_{t+1} - x*||^2 <= ||x_t - x*||^2 - (f(x_t) - f*)^2 / ||g_t||^2, so
    with ||g_t|| <= G, min_{t<=T} f(x_t) - f* <= G ||x_0 - x*|| / sqrt(T+1);
    if f is also L-smooth and mu-strongly convex, ||x_t - x*||^2 shrinks by
    at least 1 - mu/(4L) a step (from ||g||^2 <= 2L (f - f*)).

    ``f_star`` defaults to the problem's ``f_star``. A value f(x_t) below it
    (by more than round-off: 1e-12 relative) proves it wrong (too high) and
    stops :func:`gdbook.minimize` with status ``LINE_SEARCH_FAILED`` and a
    message naming both values. ``max_step`` caps the step (Loizou et al.'s
    SPS_max), a guard for an f* set too low.

    Sources: Polyak, *Introduction to Optimization* (1987), the subgradient
    method; Hazan & Kakade, "Revisiting the Polyak step size"
    (arXiv:1905.00313, 2019); Loizou, Vaswani, Laradji & Lacoste-Julien,
    "Stochastic Polyak Step-size for SGD" (AISTATS 2021).
    """

    def __init__(
        self, f_star: float | None = None, max_step: float = math.inf
    ):
        self.f_star = (
            None if f_star is None else _validate.real("f_star", f_star)
        )
        if isinstance(max_step, bool) or not isinstance(
            max_step, numbers.Real
        ):
            raise TypeError(
                "max_step must be a real number, got "
                f"{type(max_step).__name__}"
            )
        if not max_step > 0:  # also refuses NaN; inf (no cap) is allowed
            raise ValueError(f"max_step must be > 0, got {max_step}")
        self.max_step = float(max_step)

    def init(self, problem, x) -> dict:
        f_star = self.f_star
        if f_star is None:
            f_star = getattr(problem, "f_star", None)
            if f_star is None:
                raise ValueError(
                    "f_star must be given: the problem "
                    f"{type(problem).__name__} does not know its minimum"
                )
        return {"f_star": _validate.real("f_star", f_star)}

    def step(self, problem, x, state):
        f, g = problem.value(x), problem.grad(x)
        f_star = state["f_star"]
        gap = f - f_star
        # below f_star by more than round-off: f_star is wrong
        if gap < -_ROUND_OFF * max(abs(f), abs(f_star), 1.0):
            raise LineSearchError(
                f"f(x) = {f:.6g} is below f_star = {f_star:.6g} (by "
                f"{-gap:.3g}), so f_star is not the minimum of f: give a "
                "lower f_star"
            )
        norm2 = float(g @ g)
        step = 0.0
        if gap > 0 and norm2 > 0:
            step = min(gap / norm2, self.max_step)
        return x - step * g, step, state

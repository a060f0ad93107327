"""Objectives for the book: quadratics, least squares, logistic regression,
classic test functions and the FAQ's small landscapes.

Every problem has ``value(x)``, ``grad(x, idx=None)``, ``hessian(x)`` and,
where known, ``L``, ``mu``, ``x_star``, ``f_star`` and ``n_samples`` (see
:mod:`gdbook.problems.base`). :class:`Scaled` multiplies one by a constant:
another loss convention, or -f to maximise f. :class:`Counted` counts a
problem's evaluations and keeps its latest value and gradient, for
:func:`gdbook.minimize`.
"""

from .base import Problem
from .classic import Beale, Himmelblau, Rosenbrock
from .counted import Counted
from .finite_sum import FiniteSum, LeastSquares, Logistic
from .landscapes import (
    AbsoluteValue,
    SaddleValley,
    TiltedDoubleWell,
    positive_definite_fraction,
)
from .quadratic import Quadratic
from .scaled import Scaled

__all__ = [
    "Problem",
    "FiniteSum",
    "Counted",
    "Quadratic",
    "LeastSquares",
    "Logistic",
    "Scaled",
    "Rosenbrock",
    "Himmelblau",
    "Beale",
    "TiltedDoubleWell",
    "SaddleValley",
    "AbsoluteValue",
    "positive_definite_fraction",
]

"""Objectives for the book: quadratics, least squares, logistic regression and classic test functions.

Every problem has ``value(x)``, ``grad(x, idx=None)``, ``hessian(x)`` and, where known, ``L``, ``mu``,
``x_star``, ``f_star`` and ``n_samples`` (see :mod:`gdbook.problems.base`).
"""

from .base import Problem
from .finite_sum import LeastSquares, Logistic
from .quadratic import Quadratic
from .test_functions import Beale, Himmelblau, Rosenbrock

__all__ = ["Problem", "Quadratic", "LeastSquares", "Logistic", "Rosenbrock", "Himmelblau", "Beale"]

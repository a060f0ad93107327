"""A problem whose evaluations are counted, and whose latest value and gradient
are kept.

:func:`gdbook.minimize` wraps every problem in one, so that the counts
``nfev, njev, nhev`` of its result are those of any method, and a point that a
line search evaluated is not evaluated again when the loop records it
(scipy.optimize does the same with its ``ScalarFunction``).
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import Wrapper


class Counted(Wrapper):
    """``problem`` with the calls of value, grad and hessian counted; f and the
    full gradient at the latest point asked for are kept, and a second request
    for the same point is answered without evaluating. Mini-batch gradients and
    Hessians are always evaluated. Other attributes are the problem's.
    """

    def __init__(self, problem):
        super().__init__(problem)
        self.nfev = self.njev = self.nhev = 0
        self._value_at = self._grad_at = (
            None,
            None,
        )  # (point, what was computed there)

    def value(self, x) -> float:
        """f(x), evaluated unless x is the latest point whose value was asked
        for."""
        point, f = self._value_at
        if point is not None and np.array_equal(point, x):
            return f
        self.nfev += 1
        f = float(self.problem.value(x))
        self._value_at = (np.array(x, dtype=float), f)
        return f

    def grad(self, x, idx=None) -> np.ndarray:
        """grad f(x) (cached as :meth:`value` is), or the mini-batch gradient
        over ``idx`` (never cached)."""
        if idx is not None:
            self.njev += 1
            return _validate.same_shape(
                "problem.grad(x, idx)", self.problem.grad(x, idx), x
            )
        point, g = self._grad_at
        if point is not None and np.array_equal(point, x):
            return g
        self.njev += 1
        g = _validate.same_shape("problem.grad(x)", self.problem.grad(x), x)
        self._grad_at = (np.array(x, dtype=float), g)
        return g

    def hessian(self, x) -> np.ndarray:
        self.nhev += 1
        return self.problem.hessian(x)

    def __repr__(self) -> str:
        return (
            f"Counted({self.problem!r}, nfev={self.nfev}, njev={self.njev}, "
            f"nhev={self.nhev})"
        )

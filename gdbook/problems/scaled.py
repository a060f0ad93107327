"""c f: a problem multiplied by a nonzero constant, for loss conventions and
for maximisation.

Textbooks write the least-squares loss as c ||X w - y||^2 with c = 1/(2n), 1/n,
1/2 or 1: the same minimiser, but gradients, Hessians and so L, mu and the
stable learning rates lr < 2/L scale with c. ``Scaled(LeastSquares(X, y), 2)``
is the 1/n convention (LeastSquares is 1/(2n)); ``Scaled(f, -1)`` turns
gradient ascent on f into gradient descent on -f.
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import Problem, Wrapper


class Scaled(Wrapper, Problem):
    """c f for a problem f and a real c != 0: value, gradient (mini-batches and
    per-sample too), Hessian times c.

    For c > 0 the minimisers are f's: x_star is kept and L, mu, L_max and
    f_star are multiplied by c. For c < 0 the smoothness constants become |c| L
    and |c| L_max, while mu, x_star and f_star are not carried over (a
    minimiser of f maximises c f).
    """

    def __init__(self, problem, factor: float):
        super().__init__(problem)
        factor = _validate.real("factor", factor)
        if factor == 0:
            raise ValueError(
                "factor must be nonzero: 0 f has every point as a minimiser"
            )
        self.factor = factor
        self.dim, self.n_samples = (
            problem.dim,
            getattr(problem, "n_samples", None),
        )
        self.L, self.L_max = self._scaled("L"), self._scaled("L_max")
        if factor > 0:
            self.mu, self.f_star = self._scaled("mu"), self._scaled("f_star")
            self.x_star = getattr(problem, "x_star", None)

    def _scaled(self, name: str) -> float | None:
        """|c| times the wrapped problem's constant ``name``, or None where it
        is unknown."""
        value = getattr(self.problem, name, None)
        return None if value is None else abs(self.factor) * value

    def sample_grads(self, W, idx) -> np.ndarray:
        """c grad f_{idx[r]}(W[r]) for each row r (see
        :meth:`FiniteSum.sample_grads`)."""
        return self.factor * self.problem.sample_grads(W, idx)

    def _value(self, x):
        return self.factor * self.problem.value(x)

    def _grad(self, x):
        return self.factor * self.problem.grad(x)

    def _batch_grad(self, x, idx):
        return self.factor * self.problem.grad(x, idx)

    def _hessian(self, x):
        return self.factor * self.problem.hessian(x)

    def __repr__(self) -> str:
        return f"Scaled({self.problem!r}, factor={self.factor:g})"

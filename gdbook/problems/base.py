"""The objective protocol used by gdbook's optimizers, `minimize`, theory
checks and plots.

A problem is a function f: R^dim -> R with

* ``value(x)`` — f(x);
* ``grad(x, idx=None)`` — the gradient; for a finite sum f = (1/n) sum_i f_i,
  ``idx`` (an array of sample indices) gives the mini-batch estimate (1/|idx|)
  sum_{i in idx} grad f_i(x) (plus any regulariser);
* ``hessian(x)`` where defined;
* known constants, ``None`` where unknown: ``L`` (smoothness: ||grad
  f(x) - grad f(y)|| <= L ||x - y||), ``mu`` (strong convexity), ``x_star`` (a
  minimiser), ``f_star`` (the minimum), ``n_samples`` (n for a finite sum, else
  None).
"""

from __future__ import annotations

import numpy as np

from .. import _validate


class Problem:
    """Base class: argument checks and defaults; subclasses implement
    ``_value``, ``_grad`` and ``_hessian``."""

    dim: int
    L: float | None = None
    mu: float | None = None
    x_star: np.ndarray | None = None
    f_star: float | None = None
    n_samples: int | None = None

    def value(self, x) -> float:
        """f(x)."""
        return float(self._value(self._point(x)))

    def values(self, points) -> np.ndarray:
        """f at each row of ``points`` (shape (m, dim)), e.g. a grid for a
        contour plot."""
        points = np.asarray(points, dtype=float)
        if points.ndim != 2 or points.shape[1] != self.dim:
            raise ValueError(
                f"points must have shape (m, {self.dim}), got {points.shape}"
            )
        return np.array([self._value(p) for p in points], dtype=float)

    def grad(self, x, idx=None) -> np.ndarray:
        """The gradient at ``x``; with ``idx``, the mini-batch gradient over
        those samples."""
        x = self._point(x)
        if idx is None:
            return self._grad(x)
        if self.n_samples is None:
            raise ValueError(
                "idx is only allowed for finite-sum problems; "
                f"{type(self).__name__} has no samples"
            )
        return self._batch_grad(
            x, _validate.indices("idx", idx, self.n_samples)
        )

    def hessian(self, x) -> np.ndarray:
        """The Hessian matrix at ``x``."""
        return self._hessian(self._point(x))

    def _point(self, x) -> np.ndarray:
        return _validate.vector("x", x, dim=self.dim)

    def _value(self, x):
        raise NotImplementedError

    def _grad(self, x):
        raise NotImplementedError

    def _batch_grad(self, x, idx):
        raise NotImplementedError

    def _hessian(self, x):
        raise NotImplementedError(f"{type(self).__name__} has no Hessian")

    @property
    def kappa(self) -> float | None:
        """The condition number L/mu, where both are known and mu > 0."""
        if self.L is None or not self.mu:
            return None
        return self.L / self.mu

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim})"


class Wrapper:
    """A problem around another one, ``self.problem``: what it does not define
    itself (X, y, predict, ...) is the wrapped problem's."""

    def __init__(self, problem):
        if not (
            callable(getattr(problem, "value", None))
            and callable(getattr(problem, "grad", None))
        ):
            raise TypeError(
                "problem must have value(x) and grad(x) methods, got "
                f"{type(problem).__name__}"
            )
        self.problem = problem

    def __getattr__(self, name):
        if name == "problem":  # not set yet: no recursion while unpickling
            raise AttributeError(name)
        return getattr(self.problem, name)

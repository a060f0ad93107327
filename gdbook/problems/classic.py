"""Classic non-convex test functions of optimisation, with analytic gradients
and Hessians."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import Problem


class Rosenbrock(Problem):
    """The chained Rosenbrock function f(x) = sum_{i<d} [b
    (x_{i+1} - x_i^2)^2 + (a - x_i)^2].

    A curved, narrow valley (Rosenbrock 1960). For d = 2 the minimiser is (a,
    a^2); for a = 1 it is the all-ones vector in any dimension; f* = 0 in both
    cases.
    """

    def __init__(self, a: float = 1.0, b: float = 100.0, dim: int = 2):
        self.a = _validate.real("a", a)
        self.b = _validate.real("b", b, low=0.0, low_open=True)
        self.dim = _validate.integer("dim", dim, low=2)
        if self.dim == 2:
            self.x_star = np.array([self.a, self.a**2])
        elif self.a == 1.0:
            self.x_star = np.ones(self.dim)
        if self.x_star is not None:
            self.f_star = 0.0

    def _value(self, x):
        head, tail = x[:-1], x[1:]
        return np.sum(self.b * (tail - head**2) ** 2 + (self.a - head) ** 2)

    def _grad(self, x):
        head, tail = x[:-1], x[1:]
        inner = tail - head**2
        g = np.zeros_like(x)
        g[:-1] = -4 * self.b * head * inner - 2 * (self.a - head)
        g[1:] += 2 * self.b * inner
        return g

    def _hessian(self, x):
        head, tail = x[:-1], x[1:]
        diagonal = np.zeros_like(x)
        diagonal[:-1] = 12 * self.b * head**2 - 4 * self.b * tail + 2
        diagonal[1:] += 2 * self.b
        off = -4 * self.b * head
        return np.diag(diagonal) + np.diag(off, 1) + np.diag(off, -1)

    def __repr__(self) -> str:
        return f"Rosenbrock(a={self.a}, b={self.b}, dim={self.dim})"


class Himmelblau(Problem):
    """f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2: four minima with f* = 0,
    listed in ``minima``.

    Himmelblau (1972). With several minimisers, ``x_star`` is None; which one
    gradient descent finds depends on where it starts.
    """

    dim = 2
    f_star = 0.0
    minima = np.array(
        [
            [3.0, 2.0],
            [-2.805118086952745, 3.131312518250573],
            [-3.779310253377747, -3.283185991286170],
            [3.584428340330492, -1.848126526964404],
        ]
    )

    def _value(self, p):
        x, y = p
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    def _grad(self, p):
        x, y = p
        u, v = x**2 + y - 11, x + y**2 - 7
        return np.array([4 * x * u + 2 * v, 2 * u + 4 * y * v])

    def _hessian(self, p):
        x, y = p
        u, v = x**2 + y - 11, x + y**2 - 7
        cross = 4 * x + 4 * y
        return np.array(
            [[4 * u + 8 * x**2 + 2, cross], [cross, 2 + 4 * v + 8 * y**2]]
        )


class Beale(Problem):
    """f(x, y) = sum_{k=1}^{3} (c_k - x + x y^k)^2 with c = (1.5, 2.25, 2.625);
    x* = (3, 1/2), f* = 0.

    Beale (1958): flat plateaus and steep walls, a hard case for a fixed
    learning rate.
    """

    dim = 2
    x_star = np.array([3.0, 0.5])
    f_star = 0.0
    _c = np.array([1.5, 2.25, 2.625])
    _k = np.array([1, 2, 3])

    def _residuals(self, p):
        x, y = p
        return self._c - x + x * y**self._k

    def _jacobian(self, p):
        x, y = p
        return np.stack(
            [y**self._k - 1, x * self._k * y ** (self._k - 1)], axis=1
        )

    def _value(self, p):
        r = self._residuals(p)
        return r @ r

    def _grad(self, p):
        return 2 * self._jacobian(p).T @ self._residuals(p)

    def _hessian(self, p):
        x, y = p
        J, r = self._jacobian(p), self._residuals(p)
        k = self._k
        d_xy = k * y ** (k - 1)
        d_yy = x * k * (k - 1) * y ** np.maximum(k - 2, 0)
        second = np.array([[0.0, r @ d_xy], [r @ d_xy, r @ d_yy]])
        return 2 * (J.T @ J + second)

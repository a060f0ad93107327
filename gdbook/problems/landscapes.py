"""Small landscapes for the questions readers ask: a spurious local minimum, a
saddle point and a kink.

- :class:`TiltedDoubleWell` -- f(x) = x^4/4 - x^2/2 + tilt x: two minima of
  different heights, so gradient descent can stop at a local minimum that is
  not the global one.
- :class:`SaddleValley` -- f(x, y) = x^2/2 + y^4/4 - y^2/2: a strict saddle at
  the origin between two global minima (0, +-1); gradient descent started on
  the x-axis converges to the saddle, and the smallest perturbation of y lets
  it escape.
- :class:`AbsoluteValue` -- f(x) = scale * sum_i |x_i|, convex but not
  differentiable at 0: ``grad`` is a subgradient, as in
  :class:`gdbook.models.LinearSVM`. (Gradient *ascent* on f is gradient descent
  on ``Scaled(f, -1)``, :class:`gdbook.problems.Scaled`.)
- :func:`positive_definite_fraction` -- how often a random symmetric matrix is
  positive definite: the heuristic for why, in many dimensions, stationary
  points are mostly saddles (Dauphin et al. 2014).

Each problem follows :mod:`gdbook.problems.base` (``value``, ``grad``,
``hessian``, ``L``, ``mu``, ``x_star``, ``f_star``), so :func:`gdbook.minimize`
runs it.
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import Problem


class TiltedDoubleWell(Problem):
    """f(x) = x^4/4 - x^2/2 + tilt * x in one dimension, for 0 < tilt < 2/(3
    sqrt 3) ~ 0.385.

    f'(x) = x^3 - x + tilt has three real roots: two minima (``minima``,
    ascending) separated by a local maximum (``local_maximum``). For tilt > 0
    the left minimum is the lower one: it is ``x_star`` with value ``f_star``;
    the right one is a local minimum only. f is not L-smooth on R
    (f'' = 3x^2 - 1 is unbounded), so L is None.
    """

    dim = 1

    def __init__(self, tilt: float = 0.3):
        self.tilt = _validate.real(
            "tilt",
            tilt,
            low=0.0,
            high=2.0 / (3.0 * np.sqrt(3.0)),
            low_open=True,
            high_open=True,
        )
        roots = np.sort(np.roots([1.0, 0.0, -1.0, self.tilt]).real)
        self.minima = roots[[0, 2]]
        self.local_maximum = float(roots[1])
        self.x_star = self.minima[:1].copy()
        self.f_star = float(self._value(self.x_star))

    def _value(self, x):
        return float(x[0] ** 4 / 4 - x[0] ** 2 / 2 + self.tilt * x[0])

    def _grad(self, x):
        return np.array([x[0] ** 3 - x[0] + self.tilt])

    def _hessian(self, x):
        return np.array([[3.0 * x[0] ** 2 - 1.0]])

    def __repr__(self) -> str:
        return f"TiltedDoubleWell(tilt={self.tilt})"


class SaddleValley(Problem):
    """f(x, y) = x^2/2 + y^4/4 - y^2/2.

    Stationary points: the saddle (0, 0), Hessian diag(1, -1), and the two
    minimisers (0, +1) and (0, -1) (``minima``) with f* = -1/4. On the x-axis
    (y = 0) the y-component of the gradient, y^3 - y, is exactly 0, so gradient
    descent started there never leaves the axis and converges to the saddle;
    near the axis, y is multiplied by about 1 + lr per step and grows away from
    it. With several minimisers, x_star is None.
    """

    dim = 2
    f_star = -0.25
    minima = np.array([[0.0, 1.0], [0.0, -1.0]])
    saddle = np.array([0.0, 0.0])

    def _value(self, p):
        x, y = p
        return x**2 / 2 + y**4 / 4 - y**2 / 2

    def _grad(self, p):
        x, y = p
        return np.array([x, y**3 - y])

    def _hessian(self, p):
        return np.array([[1.0, 0.0], [0.0, 3.0 * p[1] ** 2 - 1.0]])


class AbsoluteValue(Problem):
    """f(x) = scale * sum_i |x_i|: convex, minimised at 0 with f* = 0, not
    differentiable where some x_i = 0.

    ``grad`` returns the subgradient scale * sign(x) (0 in a coordinate at its
    kink), which satisfies f(v) >= f(x) + g^T (v - x) for all v. Its norm is
    scale * sqrt(dim) away from the kinks, however close x is to 0: the
    gradient does not shrink near the minimum, so a constant step cannot settle
    there.
    """

    L = None

    def __init__(self, dim: int = 1, scale: float = 1.0):
        self.dim = _validate.integer("dim", dim, low=1)
        self.scale = _validate.real("scale", scale, low=0.0, low_open=True)
        self.x_star = np.zeros(self.dim)
        self.f_star = 0.0

    def _value(self, x):
        return float(self.scale * np.sum(np.abs(x)))

    def _grad(self, x):
        return self.scale * np.sign(x)

    def _hessian(self, x):
        raise NotImplementedError(
            "AbsoluteValue has no Hessian at its kinks (and 0 elsewhere)"
        )

    def __repr__(self) -> str:
        return f"AbsoluteValue(dim={self.dim}, scale={self.scale})"


def positive_definite_fraction(
    dim: int, samples: int = 10_000, seed: int = 0
) -> float:
    """The fraction of ``samples`` random symmetric dim x dim matrices that are
    positive definite.

    Each matrix is (G + G^T)/2 with G's entries i.i.d. N(0, 1) (the Gaussian
    orthogonal ensemble up to scale), drawn from
    ``numpy.random.default_rng(seed)``. Read as the Hessian at a "random"
    stationary point, it is the chance that the point is a minimum rather than
    a saddle or a maximum: 1/2 in one dimension, and it falls faster than
    exponentially with dim (Dean & Majumdar 2006; Dauphin et al. 2014).
    """
    dim = _validate.integer("dim", dim, low=1)
    samples = _validate.integer("samples", samples, low=1)
    G = np.random.default_rng(seed).standard_normal((samples, dim, dim))
    smallest = np.linalg.eigvalsh((G + np.swapaxes(G, 1, 2)) / 2)[:, 0]
    return float(np.mean(smallest > 0))

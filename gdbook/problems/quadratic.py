"""Convex quadratics f(x) = 1/2 x^T A x - b^T x + c, the model problem of every
convergence proof."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import Problem


class Quadratic(Problem):
    """f(x) = 1/2 x^T A x - b^T x + c with A symmetric positive semi-definite.

    grad f(x) = A x - b, Hessian A, L = lambda_max(A), mu = lambda_min(A); if
    mu > 0 the minimiser is x* = A^{-1} b with f* = c - 1/2 b^T A^{-1} b, and f
    is evaluated as f* + 1/2 (x - x*)^T A (x - x*): the same number, but
    accurate to round-off in f - f* rather than in f, so that gaps far below
    eps |f*| can be measured.
    """

    def __init__(self, A, b=None, c: float = 0.0):
        if np.iscomplexobj(A):
            raise TypeError(
                "A must be real; got complex values (their imaginary parts "
                "would be dropped)"
            )
        A = np.atleast_2d(np.asarray(A, dtype=float))
        if A.ndim != 2 or A.shape[0] != A.shape[1] or A.shape[0] < 1:
            raise ValueError(
                f"A must be a square matrix of size >= 1, got shape {A.shape}"
            )
        if not np.all(np.isfinite(A)):
            raise ValueError("A must be finite")
        if not np.allclose(
            A, A.T, rtol=1e-12, atol=1e-12 * np.abs(A).max(initial=1.0)
        ):
            raise ValueError("A must be symmetric")
        self.dim = A.shape[0]
        self.A = (A + A.T) / 2
        self.b = (
            np.zeros(self.dim)
            if b is None
            else _validate.vector("b", b, dim=self.dim)
        )
        self.c = _validate.real("c", c)
        eigenvalues = np.linalg.eigvalsh(self.A)
        tol = 1e-12 * max(abs(eigenvalues[-1]), 1.0)
        if eigenvalues[0] < -tol:
            raise ValueError(
                "A must be positive semi-definite, its smallest eigenvalue "
                f"is {eigenvalues[0]:.3g}"
            )
        self.eigenvalues = np.clip(eigenvalues, 0.0, None)
        self.L = float(self.eigenvalues[-1])
        self.mu = float(self.eigenvalues[0]) if eigenvalues[0] > tol else 0.0
        if self.mu > 0:
            self.x_star = np.linalg.solve(self.A, self.b)
            self.f_star = float(self.c - 0.5 * self.b @ self.x_star)

    @classmethod
    def random(
        cls, dim: int, kappa: float, seed: int | None = None, mu: float = 1.0
    ) -> Quadratic:
        """A random quadratic with eigenvalues log-spaced in [mu, kappa * mu],
        so L/mu = kappa exactly.

        A = Q diag(lambda) Q^T with Q a Haar-random orthogonal matrix; b ~ N(0,
        I); all drawn from ``numpy.random.default_rng(seed)``.
        """
        dim = _validate.integer("dim", dim, low=1)
        kappa = _validate.real("kappa", kappa, low=1.0)
        mu = _validate.real("mu", mu, low=0.0, low_open=True)
        if dim == 1 and kappa != 1.0:
            raise ValueError(f"kappa must be 1 when dim is 1, got {kappa}")
        rng = np.random.default_rng(seed)
        eigenvalues = mu * np.geomspace(1.0, kappa, dim)
        Q, R = np.linalg.qr(rng.standard_normal((dim, dim)))
        Q = Q * np.sign(np.diag(R))
        return cls((Q * eigenvalues) @ Q.T, rng.standard_normal(dim))

    def _value(self, x):
        if self.x_star is None:
            return 0.5 * x @ self.A @ x - self.b @ x + self.c
        r = x - self.x_star
        return self.f_star + 0.5 * r @ self.A @ r

    def _grad(self, x):
        return self.A @ x - self.b

    def _hessian(self, x):
        return self.A.copy()

    def __repr__(self) -> str:
        return f"Quadratic(dim={self.dim}, L={self.L:.4g}, mu={self.mu:.4g})"

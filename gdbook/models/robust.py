"""Robust linear regression with the Cauchy loss: smooth, bounded below, not
convex."""

from __future__ import annotations

import numpy as np

from .. import _validate
from ..problems.finite_sum import FiniteSum, rowdot


class RobustRegression(FiniteSum):
    """Linear regression with the Cauchy (Lorentzian) loss
    rho(r) = (s^2/2) log(1 + r^2/s^2), s = ``scale``:

    J(w) = (1/n) sum_i rho(x_i^T w - y_i),  grad J(w) = X^T psi(r) / n
    with psi(r) = r / (1 + r^2/s^2).

    Large residuals (outliers) pull on w with a force that fades like 1/r, so J
    is not convex: rho''(r) = (1 - u)/(1 + u)^2 with u = r^2/s^2 lies in [-1/8,
    1]. Hence J is L-smooth with L = lambda_max(X^T X)/n (and L_i = ||x_i||^2),
    bounded below by 0, and may have several minima.
    """

    def __init__(self, X, y, scale: float = 1.0):
        super().__init__(X, y, l2=0.0)
        self.scale = _validate.real("scale", scale, low=0.0, low_open=True)
        self.L = float(
            np.linalg.eigvalsh(self.X.T @ self.X / self.n_samples)[-1]
        )
        self.L_max = float(np.max(np.sum(self.X**2, axis=1)))

    def _psi(self, r):
        return r / (1.0 + (r / self.scale) ** 2)

    def _value(self, w):
        r = self.X @ w - self.y
        return 0.5 * self.scale**2 * np.mean(np.log1p((r / self.scale) ** 2))

    def _grad(self, w):
        return self._batch_grad(w, np.arange(self.n_samples))

    def _batch_grad(self, w, idx):
        X = self.X[idx]
        return X.T @ self._psi(X @ w - self.y[idx]) / len(idx)

    def _hessian(self, w):
        u = ((self.X @ w - self.y) / self.scale) ** 2
        return (self.X.T * ((1 - u) / (1 + u) ** 2)) @ self.X / self.n_samples

    def _sample_grads(self, W, idx):
        X = self.X[idx]
        return X * self._psi(rowdot(X, W) - self.y[idx])[:, None]

    def __repr__(self) -> str:
        return (
            f"RobustRegression(n_samples={self.n_samples}, dim={self.dim}, "
            f"scale={self.scale})"
        )

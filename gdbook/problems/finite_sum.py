"""Empirical risks f(w) = (1/n) sum_i loss(x_i^T w, y_i) + l2/2 ||w||^2: the
problems of machine learning.

Each is a finite sum, so ``grad(w, idx)`` gives the mini-batch gradient used by
stochastic gradient descent, and ``sample_grads(W, idx)`` the gradients of
single terms f_i for many runs at once, with ``L_max`` = max_i L_i, a
smoothness constant valid for every f_i (the step-size condition of the SGD
theorems).
"""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import Problem


def sigmoid(z):
    """sigma(z) = 1 / (1 + exp(-z)), computed without overflow for large
    |z|."""
    return np.exp(-np.logaddexp(0.0, -z))


def rowdot(A, B):
    """The dot product of each row of A with the same row of B."""
    return np.einsum("ij,ij->i", A, B)


class FiniteSum(Problem):
    """f = (1/n) sum_i f_i over the rows of a data set (X, y), plus l2/2
    ||w||^2.

    Subclasses implement ``_value``, ``_batch_grad`` and, for SGD runs in
    lockstep, ``_sample_grads``.
    """

    L_max: float | None = None

    def __init__(self, X, y, l2: float):
        self.X, self.y = _validate.design(X, y)
        self.l2 = _validate.real("l2", l2, low=0.0)
        self.n_samples, self.dim = self.X.shape

    def sample_grads(self, W, idx) -> np.ndarray:
        """Row r of the result is grad f_{idx[r]}(W[r]); W has shape (runs,
        dim), idx shape (runs,)."""
        W = np.asarray(W, dtype=float)
        if W.ndim != 2 or W.shape[1] != self.dim:
            raise ValueError(
                f"W must have shape (runs, {self.dim}), got {W.shape}"
            )
        return self._sample_grads(
            W,
            _validate.indices("idx", idx, self.n_samples, shape=(W.shape[0],)),
        )

    def _grad(self, x):
        return self._batch_grad(x, slice(None))

    def _sample_grads(self, W, idx):
        raise NotImplementedError(
            f"{type(self).__name__} gives no per-sample gradients"
        )

    def _gram_eigenvalues(self, scale: float) -> np.ndarray:
        """Eigenvalues of scale * X^T X / n + l2 * I, ascending."""
        with np.errstate(over="ignore"):
            gram = self.X.T @ self.X / self.n_samples
        if not np.all(np.isfinite(gram)):
            raise ValueError(
                "X is too large: X^T X / n overflows float64; scale the "
                "features down"
            )
        return scale * np.linalg.eigvalsh(gram) + self.l2

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_samples={self.n_samples}, "
            f"dim={self.dim}, l2={self.l2})"
        )


class LeastSquares(FiniteSum):
    """f(w) = 1/(2n) ||X w - y||^2 + l2/2 ||w||^2.

    grad f(w) = X^T (X w - y) / n + l2 w, Hessian H = X^T X / n + l2 I, so
    L = lambda_max(H) and mu = lambda_min(H); w* solves the normal equations H
    w = X^T y / n. As a finite sum, f_i(w) = 1/2 (x_i^T w - y_i)^2 + l2/2
    ||w||^2 with L_i = ||x_i||^2 + l2. Other conventions c ||X w - y||^2 (1/n,
    1/2, 1) are :class:`~gdbook.problems.Scaled` copies of this one.
    """

    def __init__(self, X, y, l2: float = 0.0):
        super().__init__(X, y, l2)
        eigenvalues = self._gram_eigenvalues(1.0)
        self.L = float(eigenvalues[-1])
        self.mu = float(max(eigenvalues[0], 0.0))
        if self.mu > 1e-12 * self.L:
            self.x_star = np.linalg.solve(
                self._hessian(None), self.X.T @ self.y / self.n_samples
            )
        else:
            self.x_star = np.linalg.lstsq(self.X, self.y, rcond=None)[0]
        self.f_star = float(self._value(self.x_star))
        self.L_max = float(np.max(np.sum(self.X**2, axis=1))) + self.l2

    def predict(self, w, X=None) -> np.ndarray:
        """X w (the training X by default)."""
        return (
            self.X if X is None else np.asarray(X, dtype=float)
        ) @ self._point(w)

    def _value(self, w):
        r = self.X @ w - self.y
        return 0.5 * (r @ r) / self.n_samples + 0.5 * self.l2 * (w @ w)

    def _batch_grad(self, w, idx):
        X, y = self.X[idx], self.y[idx]
        return X.T @ (X @ w - y) / len(y) + self.l2 * w

    def _hessian(self, w):
        return self.X.T @ self.X / self.n_samples + self.l2 * np.eye(self.dim)

    def _sample_grads(self, W, idx):
        X = self.X[idx]
        return X * (rowdot(X, W) - self.y[idx])[:, None] + self.l2 * W


class Logistic(FiniteSum):
    """Logistic regression with labels y in {0, 1}:

    f(w) = (1/n) sum_i [log(1 + exp(x_i^T w)) - y_i x_i^T w] + l2/2 ||w||^2,
    grad f(w) = X^T (sigma(X w) - y) / n + l2 w,
    Hessian X^T diag(s (1 - s)) X / n + l2 I with s = sigma(X w).

    Since s (1 - s) <= 1/4, L = lambda_max(X^T X)/(4n) + l2; mu = l2 (the loss
    alone is not strongly convex), and L_i = ||x_i||^2 / 4 + l2. The minimiser
    has no closed form: x_star and f_star are None.
    """

    def __init__(self, X, y, l2: float = 0.0):
        super().__init__(X, y, l2)
        if not np.all((self.y == 0) | (self.y == 1)):
            raise ValueError("y must hold labels 0 and 1 only")
        self.L = float(self._gram_eigenvalues(0.25)[-1])
        self.mu = self.l2
        self.L_max = float(np.max(np.sum(self.X**2, axis=1))) / 4 + self.l2

    def predict_proba(self, w, X=None) -> np.ndarray:
        """P(y = 1 | x) = sigma(x^T w) for each row of X (the training X by
        default)."""
        return sigmoid(
            (self.X if X is None else np.asarray(X, dtype=float))
            @ self._point(w)
        )

    def _value(self, w):
        z = self.X @ w
        return np.mean(np.logaddexp(0.0, z) - self.y * z) + 0.5 * self.l2 * (
            w @ w
        )

    def _batch_grad(self, w, idx):
        X, y = self.X[idx], self.y[idx]
        return X.T @ (sigmoid(X @ w) - y) / len(y) + self.l2 * w

    def _hessian(self, w):
        s = sigmoid(self.X @ w)
        return (
            self.X.T * (s * (1 - s))
        ) @ self.X / self.n_samples + self.l2 * np.eye(self.dim)

    def _sample_grads(self, W, idx):
        X = self.X[idx]
        return X * (sigmoid(rowdot(X, W)) - self.y[idx])[:, None] + self.l2 * W

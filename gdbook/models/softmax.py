"""Softmax (multinomial logistic) regression for k classes."""

from __future__ import annotations

import numpy as np

from .. import _validate
from ..problems.finite_sum import FiniteSum


def _softmax(Z):
    """Row-wise softmax exp(z_a) / sum_b exp(z_b), shifted by the row maximum
    so it cannot overflow."""
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


class SoftmaxRegression(FiniteSum):
    """Multinomial logistic regression with k classes, labels
    y_i in {0, ..., k-1}:

    J(W) = -(1/n) sum_i log softmax(x_i^T W)_{y_i} + l2/2 ||W||^2,
    grad J(W) = X^T (P - Y) / n + l2 W,

    with P the matrix of predicted probabilities and Y the one-hot labels. The
    parameter vector is w = W.ravel() with W of shape (d, k), so dim = d k. The
    Hessian is (1/n) sum_i (x_i x_i^T) kron (diag(p_i) - p_i p_i^T) + l2 I;
    since diag(p) - p p^T has eigenvalues <= 1/2 (Gershgorin; Boehning 1992),
    L = lambda_max(X^T X)/(2n) + l2 and L_i = ||x_i||^2 / 2 + l2. mu = l2:
    adding the same vector to every column of W changes no prediction, so
    without l2 the loss is not strictly convex.
    """

    def __init__(self, X, y, n_classes: int | None = None, l2: float = 0.0):
        super().__init__(X, y, l2)
        y = self.y
        if not np.all((y == np.round(y)) & (y >= 0)):
            raise ValueError(
                "y must hold class labels 0, 1, ..., n_classes - 1"
            )
        self.y = y.astype(int)
        n_classes = int(self.y.max()) + 1 if n_classes is None else n_classes
        self.n_classes = _validate.integer("n_classes", n_classes, low=2)
        if self.y.max() >= self.n_classes:
            raise ValueError(
                f"y must hold labels below n_classes = {self.n_classes}, "
                f"got {self.y.max()}"
            )
        self.n_features = self.X.shape[1]
        self.dim = self.n_features * self.n_classes
        gram = np.linalg.eigvalsh(self.X.T @ self.X / self.n_samples)
        self.L = float(gram[-1]) / 2 + self.l2
        self.mu = self.l2
        self.L_max = float(np.max(np.sum(self.X**2, axis=1))) / 2 + self.l2

    def weights(self, w) -> np.ndarray:
        """The (d, k) weight matrix of a flat parameter vector."""
        return self._point(w).reshape(self.n_features, self.n_classes)

    def predict_proba(self, w, X=None) -> np.ndarray:
        """The (m, k) matrix of class probabilities softmax(X W) (the training
        X by default)."""
        return _softmax(
            (self.X if X is None else np.asarray(X, dtype=float))
            @ self.weights(w)
        )

    def predict(self, w, X=None) -> np.ndarray:
        """The most probable class of each row of X."""
        return np.argmax(self.predict_proba(w, X), axis=1)

    def _value(self, w):
        Z = self.X @ w.reshape(self.n_features, self.n_classes)
        zmax = Z.max(axis=1)
        log_norm = zmax + np.log(np.sum(np.exp(Z - zmax[:, None]), axis=1))
        return np.mean(
            log_norm - Z[np.arange(self.n_samples), self.y]
        ) + 0.5 * self.l2 * (w @ w)

    def _grad(self, w):
        return self._batch_grad(w, np.arange(self.n_samples))

    def _batch_grad(self, w, idx):
        X, W = self.X[idx], w.reshape(self.n_features, self.n_classes)
        P = _softmax(X @ W)
        P[np.arange(len(idx)), self.y[idx]] -= 1.0
        return (X.T @ P / len(idx) + self.l2 * W).ravel()

    def _hessian(self, w):
        P = _softmax(self.X @ w.reshape(self.n_features, self.n_classes))
        D = (
            P[:, :, None] * np.eye(self.n_classes)
            - P[:, :, None] * P[:, None, :]
        )
        H = np.einsum("ij,il,iab->jalb", self.X, self.X, D) / self.n_samples
        return H.reshape(self.dim, self.dim) + self.l2 * np.eye(self.dim)

    def _sample_grads(self, W, idx):
        X = self.X[idx]
        Ws = W.reshape(len(idx), self.n_features, self.n_classes)
        P = _softmax(np.einsum("rj,rja->ra", X, Ws))
        P[np.arange(len(idx)), self.y[idx]] -= 1.0
        return (X[:, :, None] * P[:, None, :]).reshape(
            len(idx), self.dim
        ) + self.l2 * W

    def __repr__(self) -> str:
        return (
            f"SoftmaxRegression(n_samples={self.n_samples}, "
            f"n_features={self.n_features}, "
            f"n_classes={self.n_classes}, l2={self.l2})"
        )

"""Low-rank matrix completion: the recommender-system objective of stochastic
gradient descent."""

from __future__ import annotations

import numpy as np

from .. import _validate
from ..problems.base import Problem
from ..problems.finite_sum import rowdot


class MatrixFactorization(Problem):
    """Low-rank matrix completion: the observed entries M[r_i, c_i] = v_i of an
    (m, k) matrix fitted by U V^T,

    J(U, V) = (1/(2n)) sum_i (u_{r_i} . v_{c_i} - v_i)^2 + l2/2
    (||U||_F^2 + ||V||_F^2)

    (the latent-factor model of recommender systems; Koren, Bell & Volinsky
    2009), with U of shape (m, rank) and V of shape (k, rank). With residuals
    e_i = u_{r_i} . v_{c_i} - v_i, grad_{u_r} J = (1/n) sum_{i: r_i = r} e_i
    v_{c_i} + l2 u_r, and the same for v_c; a mini-batch averages over its
    entries. The flat parameter vector is w = [U.ravel(), V.ravel()]
    (row-major), dim = (m + k) rank. The observed entries are kept as the
    arrays ``rows``, ``cols`` and ``ratings``; ``shape`` defaults to the
    largest indices + 1.

    J is not convex (U V^T = (U Q)(V Q)^T for every orthogonal Q) and w = 0 is
    a saddle point with zero gradient: start from :meth:`init`. L, mu, x_star
    are None.
    """

    def __init__(
        self,
        ratings,
        shape: tuple[int, int] | None = None,
        rank: int = 2,
        l2: float = 0.0,
    ):
        ratings = np.asarray(ratings, dtype=float)
        if ratings.ndim != 2 or ratings.shape[1] != 3 or len(ratings) == 0:
            raise ValueError(
                "ratings must have shape (n, 3), rows of (row, col, "
                f"value), got {ratings.shape}"
            )
        if not np.all(np.isfinite(ratings)):
            raise ValueError("ratings must be finite")
        index = ratings[:, :2]
        if not np.all((index == np.round(index)) & (index >= 0)):
            raise ValueError(
                "ratings must hold non-negative integer row and column "
                "indices in columns 0 and 1"
            )
        self.rows, self.cols = index.astype(int).T
        self.ratings = ratings[:, 2]
        if shape is None:
            shape = (int(self.rows.max()) + 1, int(self.cols.max()) + 1)
        self.shape = (
            _validate.integer("shape[0]", shape[0], low=1),
            _validate.integer("shape[1]", shape[1], low=1),
        )
        if (
            self.rows.max() >= self.shape[0]
            or self.cols.max() >= self.shape[1]
        ):
            raise ValueError(
                f"ratings must hold indices inside shape = {self.shape}, "
                f"got row {self.rows.max()}, "
                f"column {self.cols.max()}"
            )
        self.rank = _validate.integer("rank", rank, low=1)
        self.l2 = _validate.real("l2", l2, low=0.0)
        self.n_samples = len(self.ratings)
        self.dim = (self.shape[0] + self.shape[1]) * self.rank

    def init(self, seed: int = 0, scale: float = 0.1) -> np.ndarray:
        """Random starting factors, every entry N(0, scale^2), from
        ``numpy.random.default_rng(seed)``."""
        scale = _validate.real("scale", scale, low=0.0, low_open=True)
        return scale * np.random.default_rng(seed).standard_normal(self.dim)

    def factors(self, w) -> tuple[np.ndarray, np.ndarray]:
        """(U, V) of a flat parameter vector (views, not copies)."""
        w = self._point(w)
        split = self.shape[0] * self.rank
        return w[:split].reshape(self.shape[0], self.rank), w[split:].reshape(
            self.shape[1], self.rank
        )

    def predict(self, w, rows=None, cols=None) -> np.ndarray:
        """u_r . v_c at the index pairs (rows, cols); the observed ones by
        default."""
        U, V = self.factors(w)
        rows = self.rows if rows is None else np.asarray(rows)
        cols = self.cols if cols is None else np.asarray(cols)
        return rowdot(U[rows], V[cols])

    def _value(self, w):
        e = self.predict(w) - self.ratings
        return 0.5 * np.mean(e**2) + 0.5 * self.l2 * (w @ w)

    def _grad(self, w):
        return self._batch_grad(w, slice(None))

    def _batch_grad(self, w, idx):
        U, V = self.factors(w)
        rows, cols = self.rows[idx], self.cols[idx]
        e = (rowdot(U[rows], V[cols]) - self.ratings[idx]) / len(rows)
        gU, gV = self.l2 * U, self.l2 * V
        np.add.at(
            gU, rows, e[:, None] * V[cols]
        )  # add.at sums over repeated rows, where gU[rows] += would not
        np.add.at(gV, cols, e[:, None] * U[rows])
        return np.concatenate([gU.ravel(), gV.ravel()])

    def __repr__(self) -> str:
        return (
            f"MatrixFactorization(n_samples={self.n_samples}, "
            f"shape={self.shape}, rank={self.rank}, l2={self.l2})"
        )

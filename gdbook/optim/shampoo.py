"""Shampoo: a preconditioner per axis of a matrix parameter, the Kronecker
factors of a full-matrix Adagrad; and SOAP, Adam run in the eigenbasis of
those factors."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer


def inverse_root(M: np.ndarray, p: float, floor: float = 0.0) -> np.ndarray:
    """M^(-1/p) of a symmetric positive definite M, by its eigendecomposition
    M = Q diag(lam) Q^T: Q diag(lam^(-1/p)) Q^T, with the eigenvalues raised
    to at least ``floor`` first (for M = eps I + a PSD sum, floor = eps only
    undoes the round-off of eigh)."""
    lam, Q = np.linalg.eigh(M)
    lam = np.maximum(lam, floor)
    if not lam[0] > 0:
        raise ValueError(
            f"M must be positive definite, its smallest eigenvalue is "
            f"{lam[0]:.3g}"
        )
    return (Q * lam ** (-1.0 / p)) @ Q.T


def _matrix_shape(shape) -> tuple[int, int]:
    """``shape`` checked as a pair (rows, columns) of positive integers."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise TypeError(f"shape must be a pair (rows, columns), got {shape!r}")
    return tuple(
        _validate.integer(f"shape[{i}]", n, low=1) for i, n in enumerate(shape)
    )


class _Factored(Optimizer):
    """An optimizer whose state holds matrices of their own shapes (given by
    ``_state_shapes(x)``), not arrays shaped like x. A non-finite gradient
    gives a non-finite x and state (no eigendecomposition exists), so that
    :func:`gdbook.minimize` reports divergence."""

    def _update(self, x, g, state, lr):
        if np.all(np.isfinite(g)):
            return self._finite_update(x, g, state, lr)
        shapes = self._state_shapes(x)
        return np.full_like(x, np.nan), {
            key: np.full(shape, np.nan) for key, shape in shapes.items()
        }


class Shampoo(_Factored):
    r"""Shampoo for one parameter: a matrix of shape ``shape`` = (m, n),
    stored flat (row-major) in x, or a vector (``shape=None``).

    With G the gradient as an m x n matrix, step t = 1, 2, ... is

        L <- L + G G^T             (m x m, L_0 = eps I)
        R <- R + G^T G             (n x n, R_0 = eps I)
        W <- W - lr * L^(-1/4) G R^(-1/4)

    the inverse fourth roots taken by eigendecomposition. A vector is an
    order-1 tensor: one factor H <- H + g g^T (H_0 = eps I) and
    x <- x - lr * H^(-1/2) g, full-matrix Adagrad. For a matrix, L^(1/2)
    kron R^(1/2) is a Kronecker-factored stand-in for full-matrix Adagrad's
    (sum of vec(G) vec(G)^T)^(1/2) (the paper bounds the one by the other),
    with m^2 + n^2 numbers of state instead of (mn)^2.

    Source: Gupta, Koren & Singer, "Shampoo: Preconditioned Stochastic Tensor
    Optimization" (ICML 2018), Algorithm 1 (matrix case) and Algorithm 2
    (order-k tensors: exponent -1/(2k), so -1/2 for a vector).
    """

    def __init__(
        self,
        shape: tuple[int, int] | None = None,
        lr: LearningRate = 1e-1,
        eps: float = 1e-6,
    ):
        super().__init__(lr)
        self.shape = None if shape is None else _matrix_shape(shape)
        self.eps = _validate.real("eps", eps, low=0.0, low_open=True)

    def _state_shapes(self, x: np.ndarray) -> dict:
        """The shape of each factor for x: (m, m) and (n, n) for a matrix,
        (d, d) for a vector of d entries."""
        if self.shape is None:
            return {"preconditioner": (x.size, x.size)}
        m, n = self.shape
        if x.size != m * n:
            raise ValueError(
                f"x must have shape[0] * shape[1] = {m * n} entries for "
                f"shape {self.shape}, got {x.size}"
            )
        return {"left": (m, m), "right": (n, n)}

    def _init_state(self, x0: np.ndarray) -> dict:
        return {
            key: self.eps * np.eye(shape[0])
            for key, shape in self._state_shapes(x0).items()
        }

    def _finite_update(self, x, g, state, lr):
        if self.shape is None:
            H = state["preconditioner"] + np.outer(g, g)
            step = inverse_root(H, 2, self.eps) @ g
            return x - lr * step, {"preconditioner": H}
        G = g.reshape(self.shape)
        L = state["left"] + G @ G.T
        R = state["right"] + G.T @ G
        direction = (
            inverse_root(L, 4, self.eps) @ G @ inverse_root(R, 4, self.eps)
        )
        return x - lr * direction.reshape(-1), {"left": L, "right": R}


class SOAP(_Factored):
    r"""SOAP ("ShampoO with Adam in the Preconditioner's eigenbasis") for one
    matrix parameter of shape ``shape`` = (m, n), stored flat (row-major) in
    x, as the authors' reference code computes it.

    With G the gradient as an m x n matrix and beta_s = ``shampoo_beta``
    (beta2 if None), the first call only sets up the factors and their bases
    (x does not move; the gradient is not used for a step):

        L = (1 - beta_s) G G^T,  R = (1 - beta_s) G^T G,
        Q_L, Q_R = eigenvectors of L, R, by decreasing eigenvalue.

    Every later call is Adam step t = 1, 2, ... in the rotated coordinates
    G' = Q_L^T G Q_R:

        M  <- beta1 M + (1 - beta1) G              (M in the original basis)
        V  <- beta2 V + (1 - beta2) G' * G'
        W  <- W - lr sqrt(1 - beta2^t) / (1 - beta1^t)
                    * Q_L [(Q_L^T M Q_R) / (sqrt(V) + eps)] Q_R^T
        L  <- beta_s L + (1 - beta_s) G G^T,   R likewise

    and every ``precondition_frequency`` steps the bases are refreshed: the
    columns of Q_L (Q_R) are sorted by the estimated eigenvalues
    diag(Q^T L Q), the rows (columns) of V permuted to match, and
    Q <- qr(L Q), one step of power iteration. Adam's per-entry second
    moment in the eigenbasis replaces Shampoo's product of a row and a
    column scale. The reference's decoupled weight decay (0.01 by default
    there) is left out.

    Source: Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson &
    Kakade, "SOAP: Improving and Stabilizing Shampoo using Adam" (ICLR 2025,
    arXiv:2409.11321), Algorithm 3, and its reference implementation.
    """

    def __init__(
        self,
        shape: tuple[int, int],
        lr: LearningRate = 3e-3,
        betas: tuple[float, float] = (0.95, 0.95),
        shampoo_beta: float | None = None,
        eps: float = 1e-8,
        precondition_frequency: int = 10,
    ):
        super().__init__(lr)
        self.shape = _matrix_shape(shape)
        self.betas = _validate.betas(betas)
        if shampoo_beta is not None:
            shampoo_beta = _validate.real(
                "shampoo_beta",
                shampoo_beta,
                low=0.0,
                high=1.0,
                high_open=True,
            )
        self.shampoo_beta = shampoo_beta
        self.eps = _validate.real("eps", eps, low=0.0)
        self.precondition_frequency = _validate.integer(
            "precondition_frequency", precondition_frequency, low=1
        )

    def _state_shapes(self, x: np.ndarray) -> dict:
        m, n = self.shape
        if x.size != m * n:
            raise ValueError(
                f"x must have shape[0] * shape[1] = {m * n} entries for "
                f"shape {self.shape}, got {x.size}"
            )
        return {
            "left": (m, m),
            "right": (n, n),
            "basis_left": (m, m),
            "basis_right": (n, n),
            "exp_avg": (m, n),
            "exp_avg_sq": (m, n),
        }

    def _init_state(self, x0: np.ndarray) -> dict:
        return {
            key: np.zeros(shape)
            for key, shape in self._state_shapes(x0).items()
        }

    def _finite_update(self, x, g, state, lr):
        beta1, beta2 = self.betas
        beta_s = beta2 if self.shampoo_beta is None else self.shampoo_beta
        G = g.reshape(self.shape)
        L = beta_s * state["left"] + (1 - beta_s) * G @ G.T
        R = beta_s * state["right"] + (1 - beta_s) * G.T @ G
        if state["step"] == 0:  # set up the bases; no step
            QL = np.linalg.eigh(L)[1][:, ::-1]
            QR = np.linalg.eigh(R)[1][:, ::-1]
            return x.copy(), {
                **{k: v for k, v in state.items() if k != "step"},
                "left": L,
                "right": R,
                "basis_left": QL,
                "basis_right": QR,
            }
        t = state["step"]  # Adam's step count: the first call was set-up
        QL, QR = state["basis_left"], state["basis_right"]
        M = beta1 * state["exp_avg"] + (1 - beta1) * G
        rotated = QL.T @ G @ QR
        V = beta2 * state["exp_avg_sq"] + (1 - beta2) * rotated * rotated
        step_size = lr * (1 - beta2**t) ** 0.5 / (1 - beta1**t)
        N = (QL.T @ M @ QR) / (np.sqrt(V) + self.eps)
        x = x - step_size * (QL @ N @ QR.T).reshape(-1)
        if t % self.precondition_frequency == 0:
            order = np.argsort(-np.einsum("ij,ik,kj->j", QL, L, QL))
            QL, V = np.linalg.qr(L @ QL[:, order])[0], V[order, :]
            order = np.argsort(-np.einsum("ij,ik,kj->j", QR, R, QR))
            QR, V = np.linalg.qr(R @ QR[:, order])[0], V[:, order]
        return x, {
            "left": L,
            "right": R,
            "basis_left": QL,
            "basis_right": QR,
            "exp_avg": M,
            "exp_avg_sq": V,
        }

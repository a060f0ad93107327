"""Methods that use curvature: Newton's method (pure and damped) and L-BFGS.

Newton: solve H(x) p = -grad f(x) and step along p; near a minimiser with
positive definite Hessian the error squares at every step (quadratic
convergence). Damped Newton takes the step a p with a from Armijo backtracking,
which makes it converge from far away too (Boyd & Vandenberghe 2004, sec. 9.5).
Where H is not positive definite, H + tau I is used with tau grown until the
Cholesky factorisation succeeds (Nocedal & Wright 2006, sec. 3.4).

L-BFGS: approximates the inverse Hessian from the last m pairs
s = x_{k+1} - x_k, y = g_{k+1} - g_k with the two-loop recursion
(:func:`two_loop`, the readable reference) or the equal compact form
(:func:`compact_product`, what :class:`LBFGS` uses), and takes strong-Wolfe
steps (Liu & Nocedal 1989; Nocedal & Wright 2006, Algorithms 7.4 and 7.5; Byrd,
Nocedal & Schnabel 1994).

Both are methods of :mod:`gdbook.methods`, run by
``gdbook.minimize(..., method="newton" | "lbfgs")``.
"""

from __future__ import annotations

import numpy as np

from . import _validate
from .linesearch import backtracking, strong_wolfe
from .methods import Method


def newton_direction(H: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
    """The Newton direction p with (H + tau I) p = -g; tau = 0 when H is
    positive definite.

    Returns (p, tau). tau starts at 1e-3 * max|H_ii| and doubles until Cholesky
    succeeds.
    """
    tau, scale = 0.0, max(float(np.max(np.abs(np.diag(H)))), 1e-12)
    identity = np.eye(len(g))
    while True:
        try:
            factor = np.linalg.cholesky(H + tau * identity)
        except np.linalg.LinAlgError:
            tau = max(2.0 * tau, 1e-3 * scale)
            continue
        return -_cholesky_solve(factor, g), tau


def _cholesky_solve(factor, rhs):
    """Solve (C C^T) z = rhs given the lower-triangular Cholesky factor C."""
    return np.linalg.solve(factor.T, np.linalg.solve(factor, rhs))


class Newton(Method):
    """Newton's method; ``damped=True`` chooses the step by Armijo backtracking
    from a = 1."""

    def __init__(
        self, damped: bool = True, c1: float = 1e-4, shrink: float = 0.5
    ):
        self.damped = _validate.flag("damped", damped)
        self.c1 = _validate.real(
            "c1", c1, low=0.0, high=1.0, low_open=True, high_open=True
        )
        self.shrink = _validate.real(
            "shrink", shrink, low=0.0, high=1.0, low_open=True, high_open=True
        )

    def step(self, problem, x, state):
        g = problem.grad(x)
        p, tau = newton_direction(problem.hessian(x), g)
        step = 1.0
        if self.damped:
            step = backtracking(
                problem, x, p, problem.value(x), g, step, self.c1, self.shrink
            ).step
        return x + step * p, step, {"tau": tau}


def two_loop(g: np.ndarray, s_pairs, y_pairs) -> np.ndarray:
    """H_k g by the L-BFGS two-loop recursion over the stored pairs (oldest
    first).

    H_0 = gamma I with gamma = s^T y / y^T y of the newest pair (Nocedal &
    Wright 2006, eq. 7.20).
    """
    q = g.copy()
    rhos = [1.0 / np.dot(y, s) for s, y in zip(s_pairs, y_pairs, strict=True)]
    alphas = []
    for s, y, rho in zip(
        reversed(s_pairs), reversed(y_pairs), reversed(rhos), strict=True
    ):
        alpha = rho * np.dot(s, q)
        q -= alpha * y
        alphas.append(alpha)
    if s_pairs:
        s, y = s_pairs[-1], y_pairs[-1]
        q *= np.dot(s, y) / np.dot(y, y)
    for s, y, rho, alpha in zip(
        s_pairs, y_pairs, rhos, reversed(alphas), strict=True
    ):
        beta = rho * np.dot(y, q)
        q += (alpha - beta) * s
    return q


def compact_product(
    g: np.ndarray, S: np.ndarray, Y: np.ndarray, R: np.ndarray, YY: np.ndarray
) -> np.ndarray:
    """H_k g, the same vector as :func:`two_loop`, from matrix-vector products
    with the stacked pairs.

    S, Y hold the pairs in their rows (oldest first), R is the upper triangle
    of S Y^T (R_ij = s_i^T y_j for i <= j, so diag R = 1/rho) and YY = Y Y^T.
    The first loop of the recursion is the triangular system R alpha = S g, the
    second R^T beta = gamma (Y g - YY alpha) + U^T alpha with U the strictly
    upper part of R; then H g = gamma (g - Y^T alpha) + S^T (alpha - beta).
    This is the compact form of Byrd, Nocedal & Schnabel, Math. Programming 63
    (1994), eq. (3.1) with H_0 = gamma I.
    """
    if len(S) == 0:
        return g.copy()
    gamma = R[-1, -1] / YY[-1, -1]
    from scipy.linalg.lapack import (
        dtrtrs,
    )  # imported here so that `import gdbook` does not load scipy.linalg

    alpha = dtrtrs(R, S @ g)[0]
    upper_t_alpha = R.T @ alpha - np.diagonal(R) * alpha  # U^T alpha
    beta = dtrtrs(R, gamma * (Y @ g - YY @ alpha) + upper_t_alpha, trans=1)[0]
    return gamma * (g - alpha @ Y) + (alpha - beta) @ S


def _append_pair(memory: int, S, Y, R, YY, s, y):
    """The stacks S, Y, R, YY of :func:`compact_product` after storing (s, y),
    dropping the oldest if full."""
    drop = max(len(S) + 1 - memory, 0)
    S, Y = (
        np.concatenate((S[drop:], s[None])),
        np.concatenate((Y[drop:], y[None])),
    )
    k = len(S)
    R_new, YY_new = np.zeros((k, k)), np.empty((k, k))
    R_new[:-1, :-1], YY_new[:-1, :-1] = R[drop:, drop:], YY[drop:, drop:]
    R_new[:, -1] = S @ y  # s_i^T y for every stored s_i, the newest included
    YY_new[:, -1] = YY_new[-1, :] = Y @ y
    return S, Y, R_new, YY_new


class LBFGS(Method):
    """Limited-memory BFGS with ``memory`` pairs and strong Wolfe line search
    (c1, c2).

    The direction is -H_k g, with H_k the BFGS matrix of the last ``memory``
    pairs (s, y), computed by :func:`compact_product` (equal to
    :func:`two_loop`, with fewer, larger NumPy operations). The first step,
    with no curvature information yet, tries a = 1/||g|| along -g, as L-BFGS-B
    does. A pair with s^T y <= 1e-10 y^T y (no positive curvature) is not
    stored; should round-off ever make the direction an ascent one, the memory
    is cleared and the step is along -grad f. The state holds the stacks
    ``S, Y, R, YY``; ``step`` returns new arrays and never modifies the state
    it is given.
    """

    def __init__(self, memory: int = 10, c1: float = 1e-4, c2: float = 0.9):
        self.memory = _validate.integer("memory", memory, low=1)
        self.c1 = _validate.real(
            "c1", c1, low=0.0, high=1.0, low_open=True, high_open=True
        )
        self.c2 = _validate.real(
            "c2", c2, low=self.c1, high=1.0, low_open=True, high_open=True
        )

    def init(self, problem, x) -> dict:
        n = len(x)
        return {
            "S": np.empty((0, n)),
            "Y": np.empty((0, n)),
            "R": np.empty((0, 0)),
            "YY": np.empty((0, 0)),
        }

    def step(self, problem, x, state):
        f, g = problem.value(x), problem.grad(x)
        d = -compact_product(
            g, state["S"], state["Y"], state["R"], state["YY"]
        )
        if (
            len(state["S"]) and not np.dot(g, d) < 0
        ):  # round-off spoiled the pairs: restart from -g
            state, d = self.init(problem, x), -g
        initial = (
            1.0 if len(state["S"]) else 1.0 / max(np.linalg.norm(g), 1e-300)
        )
        search = strong_wolfe(problem, x, d, f, g, initial, self.c1, self.c2)
        x_new = x + search.step * d
        s, y = x_new - x, search.g - g
        if np.dot(s, y) > 1e-10 * np.dot(y, y):
            stacks = _append_pair(
                self.memory,
                state["S"],
                state["Y"],
                state["R"],
                state["YY"],
                s,
                y,
            )
            state = dict(zip(("S", "Y", "R", "YY"), stacks, strict=True))
        return x_new, search.step, state

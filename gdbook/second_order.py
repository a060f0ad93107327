"""Methods that use curvature: Newton's method (pure and damped) and L-BFGS.

Newton: solve H(x) p = -grad f(x) and step along p; near a minimiser with positive definite Hessian
the error squares at every step (quadratic convergence). Damped Newton takes the step a p with a from
Armijo backtracking, which makes it converge from far away too (Boyd & Vandenberghe 2004, sec. 9.5).
Where H is not positive definite, H + tau I is used with tau grown until the Cholesky factorisation
succeeds (Nocedal & Wright 2006, sec. 3.4).

L-BFGS: approximates the inverse Hessian from the last m pairs s = x_{k+1} - x_k, y = g_{k+1} - g_k
with the two-loop recursion, and takes strong-Wolfe steps (Liu & Nocedal 1989; Nocedal & Wright 2006,
Algorithms 7.4 and 7.5).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from . import _validate
from .linesearch import SearchMethod, backtracking, strong_wolfe


def newton_direction(H: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
    """The Newton direction p with (H + tau I) p = -g; tau = 0 when H is positive definite.

    Returns (p, tau). tau starts at 1e-3 * max|H_ii| and doubles until Cholesky succeeds.
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


class Newton(SearchMethod):
    """Newton's method; ``damped=True`` chooses the step by Armijo backtracking from a = 1."""

    def __init__(self, damped: bool = True, c1: float = 1e-4, shrink: float = 0.5):
        self.damped = bool(damped)
        self.c1 = _validate.real("c1", c1, low=0.0, high=1.0, low_open=True, high_open=True)
        self.shrink = _validate.real("shrink", shrink, low=0.0, high=1.0, low_open=True, high_open=True)

    def step(self, problem, x, f, g, state):
        p, tau = newton_direction(problem.hessian(x), g)
        if self.damped:
            search = backtracking(problem, x, p, f, g, 1.0, self.c1, self.shrink)
            step, f_new = search.step, search.f
        else:
            step, f_new = 1.0, problem.value(x + p)
        x_new = x + step * p
        return x_new, f_new, problem.grad(x_new), step, {"tau": tau}


def two_loop(g: np.ndarray, s_pairs, y_pairs) -> np.ndarray:
    """H_k g by the L-BFGS two-loop recursion over the stored pairs (oldest first).

    H_0 = gamma I with gamma = s^T y / y^T y of the newest pair (Nocedal & Wright 2006, eq. 7.20).
    """
    q = g.copy()
    rhos = [1.0 / np.dot(y, s) for s, y in zip(s_pairs, y_pairs)]
    alphas = []
    for s, y, rho in zip(reversed(s_pairs), reversed(y_pairs), reversed(rhos)):
        alpha = rho * np.dot(s, q)
        q -= alpha * y
        alphas.append(alpha)
    if s_pairs:
        s, y = s_pairs[-1], y_pairs[-1]
        q *= np.dot(s, y) / np.dot(y, y)
    for s, y, rho, alpha in zip(s_pairs, y_pairs, rhos, reversed(alphas)):
        beta = rho * np.dot(y, q)
        q += (alpha - beta) * s
    return q


class LBFGS(SearchMethod):
    """Limited-memory BFGS with ``memory`` pairs and strong Wolfe line search (c1, c2).

    The first step, with no curvature information yet, tries a = 1/||g|| along -g, as L-BFGS-B does.
    A pair with s^T y <= 1e-10 y^T y (no positive curvature) is not stored; should round-off ever make
    the direction an ascent one, the memory is cleared and the step is along -grad f.
    """

    def __init__(self, memory: int = 10, c1: float = 1e-4, c2: float = 0.9):
        self.memory = _validate.integer("memory", memory, low=1)
        self.c1 = _validate.real("c1", c1, low=0.0, high=1.0, low_open=True, high_open=True)
        self.c2 = _validate.real("c2", c2, low=self.c1, high=1.0, low_open=True, high_open=True)

    def init(self, problem, x, f, g) -> dict:
        return {"s": deque(maxlen=self.memory), "y": deque(maxlen=self.memory)}

    def step(self, problem, x, f, g, state):
        s_pairs, y_pairs = deque(state["s"], self.memory), deque(state["y"], self.memory)
        d = -two_loop(g, list(s_pairs), list(y_pairs))
        if np.dot(g, d) >= 0:  # round-off spoiled the curvature pairs: restart from steepest descent
            s_pairs.clear(), y_pairs.clear()
            d = -g
        initial = 1.0 if s_pairs else 1.0 / max(np.linalg.norm(g), 1e-300)
        search = strong_wolfe(problem, x, d, f, g, initial, self.c1, self.c2)
        x_new = x + search.step * d
        s, y = x_new - x, search.g - g
        if np.dot(s, y) > 1e-10 * np.dot(y, y):
            s_pairs.append(s)
            y_pairs.append(y)
        return x_new, search.f, search.g, search.step, {"s": s_pairs, "y": y_pairs}

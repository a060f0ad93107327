"""The bounds that the book proves, as functions to evaluate along a measured run.

Notation: f is L-smooth (||grad f(x) - grad f(y)|| <= L ||x - y||) and, where stated, mu-strongly convex;
x_t is the t-th gradient-descent iterate x_{t+1} = x_t - lr * grad f(x_t); gap0 = f(x_0) - f*;
dist0 = ||x_0 - x*||. Every function accepts an array ``t`` and returns the bound at each t.

Sources: Nesterov, *Lectures on Convex Optimization* (2018), ch. 2; Garrigos & Gower, *Handbook of
Convergence Theorems for (Stochastic) Gradient Methods* (2023); Bottou, Curtis & Nocedal, *Optimization
Methods for Large-Scale Machine Learning*, SIAM Review (2018), sec. 4; Polyak, *Introduction to
Optimization* (1987), for the heavy-ball method.
"""

from __future__ import annotations

import numpy as np

from . import _validate


def _smoothness(L, mu=None):
    L = _validate.real("L", L, low=0.0, low_open=True)
    if mu is None:
        return L
    mu = _validate.real("mu", mu, low=0.0, low_open=True, high=L)
    return L, mu


def _step(lr, high: float) -> float:
    return _validate.real("lr", lr, low=0.0, low_open=True, high=high)


def max_stable_step(L: float) -> float:
    """2/L: on a quadratic with largest curvature L, gradient descent diverges for every lr > 2/L."""
    return 2.0 / _smoothness(L)


def optimal_step(L: float, mu: float) -> float:
    """2/(L + mu): minimises the contraction factor max |1 - lr*lambda| over lambda in [mu, L]."""
    L, mu = _smoothness(L, mu)
    return 2.0 / (L + mu)


def quadratic_contraction(lr: float, eigenvalues) -> float:
    """max_i |1 - lr*lambda_i|: the factor by which GD shrinks x - x* on a quadratic; > 1 means divergence."""
    return float(np.max(np.abs(1.0 - lr * np.asarray(eigenvalues, dtype=float))))


def descent_lemma(f, grad_norm, lr, L):
    """f(x - lr g) <= f(x) - lr (1 - L lr / 2) ||g||^2 for L-smooth f (Nesterov 2018, sec. 1.2.3).

    The decrease is guaranteed only for 0 < lr < 2/L; for lr <= 1/L it is at least lr/2 ||g||^2.
    """
    L = _smoothness(L)
    return np.asarray(f) - lr * (1.0 - L * lr / 2.0) * np.asarray(grad_norm) ** 2


def nonconvex_bound(t, lr, L, gap0):
    """min_{s<t} ||grad f(x_s)||^2 <= gap0 / (t lr (1 - L lr/2)) for L-smooth f, 0 < lr < 2/L (t >= 1)."""
    L = _smoothness(L)
    lr = _step(lr, 2.0 / L)
    if lr == 2.0 / L:
        raise ValueError(f"lr must be < 2/L = {2.0 / L:.6g}, got {lr}")
    return gap0 / (np.asarray(t, dtype=float) * lr * (1.0 - L * lr / 2.0))


def convex_bound(t, lr, L, dist0):
    """f(x_t) - f* <= ||x_0 - x*||^2 / (2 lr t) for convex L-smooth f and 0 < lr <= 1/L (t >= 1).

    Garrigos & Gower (2023), sec. 3; with lr = 1/L it reads L ||x_0 - x*||^2 / (2t).
    """
    lr = _step(lr, 1.0 / _smoothness(L))
    return dist0**2 / (2.0 * lr * np.asarray(t, dtype=float))


def strongly_convex_bound(t, lr, L, mu, gap0):
    """f(x_t) - f* <= (1 - lr mu)^t (f(x_0) - f*) for mu-strongly convex L-smooth f and 0 < lr <= 1/L.

    From the descent lemma and the Polyak-Lojasiewicz inequality ||grad f||^2 >= 2 mu (f - f*);
    with lr = 1/L the factor is 1 - mu/L = 1 - 1/kappa (Garrigos & Gower 2023, sec. 3).
    """
    L, mu = _smoothness(L, mu)
    lr = _step(lr, 1.0 / L)
    return gap0 * (1.0 - lr * mu) ** np.asarray(t, dtype=float)


def optimal_step_distance_bound(t, L, mu, dist0):
    """||x_t - x*|| <= ((kappa - 1)/(kappa + 1))^t ||x_0 - x*|| with lr = 2/(L + mu), kappa = L/mu.

    Nesterov (2018), Theorem 2.1.15.
    """
    L, mu = _smoothness(L, mu)
    kappa = L / mu
    return dist0 * ((kappa - 1.0) / (kappa + 1.0)) ** np.asarray(t, dtype=float)


def heavy_ball_parameters(L: float, mu: float) -> tuple[float, float]:
    """Polyak's tuning for quadratics: lr = 4/(sqrt(L) + sqrt(mu))^2, beta = ((sqrt(k) - 1)/(sqrt(k) + 1))^2.

    With them x_t - x* shrinks like ((sqrt(kappa) - 1)/(sqrt(kappa) + 1))^t (Polyak 1987, sec. 3.2.1).
    """
    L, mu = _smoothness(L, mu)
    root_kappa = np.sqrt(L / mu)
    return 4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2, ((root_kappa - 1.0) / (root_kappa + 1.0)) ** 2


def nesterov_parameters(L: float, mu: float) -> tuple[float, float]:
    """Nesterov's constant-momentum scheme for strongly convex f: lr = 1/L, beta = (sqrt(k) - 1)/(sqrt(k) + 1).

    Then f(x_t) - f* <= (1 - 1/sqrt(kappa))^t (f(x_0) - f* + mu/2 ||x_0 - x*||^2) (Nesterov 2018, sec. 2.2).
    """
    L, mu = _smoothness(L, mu)
    root_kappa = np.sqrt(L / mu)
    return 1.0 / L, (root_kappa - 1.0) / (root_kappa + 1.0)


def sgd_noise_floor(lr, L, mu, noise):
    """lr L M / (2 mu): the level that constant-step SGD approaches in expectation (Bottou et al. 2018, Thm 4.6).

    ``noise`` = M bounds the variance of the stochastic gradient, E||g - grad f||^2 <= M.
    """
    L, mu = _smoothness(L, mu)
    return lr * L * noise / (2.0 * mu)


def sgd_constant_step_bound(t, lr, L, mu, gap0, noise):
    """E f(x_t) - f* <= floor + (1 - lr mu)^t (gap0 - floor), floor = lr L M / (2 mu), for 0 < lr <= 1/L.

    Bottou, Curtis & Nocedal (2018), Theorem 4.6, with unbiased gradients whose variance is at most M.
    """
    L, mu = _smoothness(L, mu)
    lr = _step(lr, 1.0 / L)
    floor = sgd_noise_floor(lr, L, mu, noise)
    return floor + (1.0 - lr * mu) ** np.asarray(t, dtype=float) * (gap0 - floor)


def sgd_diminishing_bound(t, beta, gamma, L, mu, gap0, noise):
    """E f(x_t) - f* <= nu / (gamma + t + 1) for Robbins-Monro steps lr_t = beta / (gamma + t + 1).

    nu = max(beta^2 L M / (2 (beta mu - 1)), (gamma + 1) gap0); requires beta > 1/mu and
    beta/(gamma + 1) <= 1/L (Bottou, Curtis & Nocedal 2018, Theorem 4.7, with their k = t + 1).
    """
    L, mu = _smoothness(L, mu)
    if beta * mu <= 1.0:
        raise ValueError(f"beta must be > 1/mu = {1.0 / mu:.6g}, got {beta}")
    if beta / (gamma + 1.0) > 1.0 / L:
        raise ValueError(f"gamma must make the first step beta/(gamma+1) <= 1/L = {1.0 / L:.6g}")
    nu = max(beta**2 * L * noise / (2.0 * (beta * mu - 1.0)), (gamma + 1.0) * gap0)
    return nu / (gamma + np.asarray(t, dtype=float) + 1.0)

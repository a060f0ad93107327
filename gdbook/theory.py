"""The bounds that the book proves, as functions to evaluate along a measured
run.

Notation: f is L-smooth (||grad f(x) - grad f(y)|| <= L ||x - y||) and, where
stated, mu-strongly convex; x_t is the t-th gradient-descent iterate
x_{t+1} = x_t - lr * grad f(x_t); gap0 = f(x_0) - f*; dist0 = ||x_0 - x*||.
Every function accepts an array ``t`` and returns the bound at each t.

Sources: Nesterov, *Lectures on Convex Optimization* (2018), ch. 2; Garrigos &
Gower, *Handbook of Convergence Theorems for (Stochastic) Gradient Methods*
(2023); Bottou, Curtis & Nocedal, *Optimization Methods for Large-Scale Machine
Learning*, SIAM Review (2018), sec. 4; Polyak, *Introduction to Optimization*
(1987), for the heavy-ball method; Gower et al., *SGD: General Analysis and
Improved Rates*, ICML (2019), Thm 3.1, for SGD on finite sums (sigma*^2,
L_max).
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


def _times(t, low: int = 0) -> np.ndarray:
    """The iteration counts ``t`` (a number or an array) as floats, each finite
    and >= ``low``."""
    times = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(times)) or np.any(times < low):
        raise ValueError(
            f"t must hold finite iteration counts >= {low}, got {t!r}"
        )
    return times


def _amount(name: str, value) -> float:
    """A finite real >= 0, such as a starting gap, a distance or a noise
    level."""
    return _validate.real(name, value, low=0.0)


def _robbins_monro(beta, gamma, mu: float, max_first: float, name: str):
    """``(beta, gamma)`` of the steps lr_t = beta / (gamma + t + 1), checked:
    beta > 1/mu, and a first step beta/(gamma + 1) <= ``max_first`` (``name``
    says which bound; slack for round-off in a gamma computed from it)."""
    beta = _validate.real("beta", beta)
    gamma = _validate.real("gamma", gamma, low=0.0)
    if beta * mu <= 1.0:
        raise ValueError(f"beta must be > 1/mu = {1.0 / mu:.6g}, got {beta}")
    if beta / (gamma + 1.0) > (1.0 + 1e-12) * max_first:
        raise ValueError(
            f"gamma must make the first step beta/(gamma+1) <= {name} = "
            f"{max_first:.6g}"
        )
    return beta, gamma


def max_stable_step(L: float) -> float:
    """2/L: on a quadratic with largest curvature L, gradient descent diverges
    for every lr > 2/L."""
    return 2.0 / _smoothness(L)


def optimal_step(L: float, mu: float) -> float:
    """2/(L + mu): minimises the contraction factor max |1 - lr*lambda| over
    lambda in [mu, L]."""
    L, mu = _smoothness(L, mu)
    return 2.0 / (L + mu)


def quadratic_contraction(lr: float, eigenvalues) -> float:
    """max_i |1 - lr*lambda_i|: the factor by which GD shrinks x - x* on a
    quadratic; > 1 means divergence."""
    lr = _step(lr, np.inf)
    return float(
        np.max(np.abs(1.0 - lr * np.asarray(eigenvalues, dtype=float)))
    )


def descent_lemma(f, grad_norm, lr, L):
    """f(x - lr g) <= f(x) - lr (1 - L lr / 2) ||g||^2 for L-smooth f (Nesterov
    2018, sec. 1.2.3).

    The decrease is guaranteed only for 0 < lr < 2/L; for lr <= 1/L it is at
    least lr/2 ||g||^2.
    """
    L, lr = _smoothness(L), _step(lr, np.inf)
    return (
        np.asarray(f) - lr * (1.0 - L * lr / 2.0) * np.asarray(grad_norm) ** 2
    )


def nonconvex_bound(t, lr, L, gap0):
    """min_{s<t} ||grad f(x_s)||^2 <= gap0 / (t lr (1 - L lr/2)) for L-smooth
    f, 0 < lr < 2/L (t >= 1)."""
    L = _smoothness(L)
    lr = _step(lr, 2.0 / L)
    if lr == 2.0 / L:
        raise ValueError(f"lr must be < 2/L = {2.0 / L:.6g}, got {lr}")
    return _amount("gap0", gap0) / (
        _times(t, low=1) * lr * (1.0 - L * lr / 2.0)
    )


def convex_bound(t, lr, L, dist0):
    """f(x_t) - f* <= ||x_0 - x*||^2 / (2 lr t) for convex L-smooth f and
    0 < lr <= 1/L (t >= 1).

    Garrigos & Gower (2023), sec. 3; with lr = 1/L it reads L
    ||x_0 - x*||^2 / (2t).
    """
    lr = _step(lr, 1.0 / _smoothness(L))
    with np.errstate(
        over="ignore"
    ):  # an astronomical dist0 gives the bound inf, never OverflowError
        return np.square(np.float64(_amount("dist0", dist0))) / (
            2.0 * lr * _times(t, low=1)
        )


def strongly_convex_bound(t, lr, L, mu, gap0):
    """f(x_t) - f* <= (1 - lr mu)^t (f(x_0) - f*) for mu-strongly convex
    L-smooth f and 0 < lr <= 1/L.

    From the descent lemma and the Polyak-Lojasiewicz inequality ||grad
    f||^2 >= 2 mu (f - f*); with lr = 1/L the factor is 1 - mu/L = 1 - 1/kappa
    (Garrigos & Gower 2023, sec. 3).
    """
    L, mu = _smoothness(L, mu)
    lr = _step(lr, 1.0 / L)
    return _amount("gap0", gap0) * (1.0 - lr * mu) ** _times(t)


def optimal_step_distance_bound(t, L, mu, dist0):
    """||x_t - x*|| <= ((kappa - 1)/(kappa + 1))^t ||x_0 - x*|| with
    lr = 2/(L + mu), kappa = L/mu.

    Nesterov (2018), Theorem 2.1.15.
    """
    L, mu = _smoothness(L, mu)
    kappa = L / mu
    return _amount("dist0", dist0) * ((kappa - 1.0) / (kappa + 1.0)) ** _times(
        t
    )


def heavy_ball_parameters(L: float, mu: float) -> tuple[float, float]:
    """Polyak's tuning for quadratics: lr = 4/(sqrt(L) + sqrt(mu))^2,
    beta = ((sqrt(k) - 1)/(sqrt(k) + 1))^2.

    With them every eigen-component of x_t - x* follows a recursion whose roots
    have modulus rho = (sqrt(kappa) - 1)/(sqrt(kappa) + 1); at lambda = mu and
    lambda = L the two roots coincide, so the error is O(t rho^t) rather than
    O(rho^t) (Polyak 1987, sec. 3.2.1).
    """
    L, mu = _smoothness(L, mu)
    root_kappa = np.sqrt(L / mu)
    return 4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2, (
        (root_kappa - 1.0) / (root_kappa + 1.0)
    ) ** 2


def nesterov_parameters(L: float, mu: float) -> tuple[float, float]:
    """Nesterov's constant-momentum scheme for strongly convex f: lr = 1/L,
    beta = (sqrt(k) - 1)/(sqrt(k) + 1).

    Then f(x_t) - f* <= (1 - 1/sqrt(kappa))^t (f(x_0) - f* + mu/2
    ||x_0 - x*||^2) (Nesterov 2018, sec. 2.2).
    """
    L, mu = _smoothness(L, mu)
    root_kappa = np.sqrt(L / mu)
    return 1.0 / L, (root_kappa - 1.0) / (root_kappa + 1.0)


def sgd_gap_floor(lr, L, mu, noise):
    """lr L M / (2 mu): the floor of the bound on the gap E f(x_t) - f* of
    constant-step SGD (Bottou et al. 2018, Thm 4.6), a bound, larger than the
    level a run settles at (:func:`gdbook.stochastic.predicted_gap_level`).

    ``noise`` = M bounds the variance of the stochastic gradient, E||g - grad
    f||^2 <= M.
    """
    L, mu = _smoothness(L, mu)
    return _step(lr, np.inf) * L * _amount("noise", noise) / (2.0 * mu)


def sgd_constant_step_bound(t, lr, L, mu, gap0, noise):
    """E f(x_t) - f* <= floor + (1 - lr mu)^t (gap0 - floor), floor = lr L
    M / (2 mu), for 0 < lr <= 1/L.

    Bottou, Curtis & Nocedal (2018), Theorem 4.6, with unbiased gradients whose
    variance is at most M.
    """
    L, mu = _smoothness(L, mu)
    lr = _step(lr, 1.0 / L)
    floor = sgd_gap_floor(lr, L, mu, noise)
    return floor + (1.0 - lr * mu) ** _times(t) * (
        _amount("gap0", gap0) - floor
    )


def sgd_diminishing_bound(t, beta, gamma, L, mu, gap0, noise):
    """E f(x_t) - f* <= nu / (gamma + t + 1) for Robbins-Monro steps
    lr_t = beta / (gamma + t + 1).

    nu = max(beta^2 L M / (2 (beta mu - 1)), (gamma + 1) gap0); requires
    beta > 1/mu and beta/(gamma + 1) <= 1/L (Bottou, Curtis & Nocedal 2018,
    Theorem 4.7, with their k = t + 1).
    """
    L, mu = _smoothness(L, mu)
    beta, gamma = _robbins_monro(beta, gamma, mu, 1.0 / L, "1/L")
    nu = max(
        beta**2 * L * _amount("noise", noise) / (2.0 * (beta * mu - 1.0)),
        (gamma + 1.0) * _amount("gap0", gap0),
    )
    return nu / (gamma + _times(t) + 1.0)


def quadratic_distance_bound(t, lr, L, mu, dist0):
    """||x_t - x*|| <= max(|1 - lr mu|, |1 - lr L|)^t ||x_0 - x*|| for GD on a
    quadratic with spectrum in [mu, L].

    Exact algebra: x_t - x* = (I - lr A)^t (x_0 - x*). Any lr > 0 is allowed;
    the factor is < 1 iff lr < 2/L and smallest, (L - mu)/(L + mu), at
    lr = 2/(L + mu) (Polyak 1987, ch. 1; Nesterov 2018, ch. 2).
    """
    L, mu = _smoothness(L, mu)
    lr = _step(lr, np.inf)
    return _amount("dist0", dist0) * quadratic_contraction(
        lr, [mu, L]
    ) ** _times(t)


def divergence_lower_bound(t, lr, L, component):
    """||x_t - x*|| >= |1 - lr L|^t |<x_0 - x*, v>| for GD on a quadratic, v a
    unit eigenvector of eigenvalue L.

    The component along v is multiplied by exactly 1 - lr L per step, so for
    lr > 2/L the iterates diverge from every start with component != 0.
    """
    L = _smoothness(L)
    lr = _step(lr, np.inf)
    return abs(_validate.real("component", component)) * abs(
        1.0 - lr * L
    ) ** _times(t)


def sgd_distance_floor(lr, mu, sigma_star_sq):
    """2 lr sigma*^2 / mu: the floor of the bound on the squared distance
    E||x_t - x*||^2 of constant-step SGD.

    sigma*^2 = (1/n) sum_i ||grad f_i(x*)||^2 is the gradient noise at the
    minimiser (Gower et al. 2019).
    """
    mu = _validate.real("mu", mu, low=0.0, low_open=True)
    sigma_star_sq = _validate.real("sigma_star_sq", sigma_star_sq, low=0.0)
    return 2.0 * _step(lr, np.inf) * sigma_star_sq / mu


def sgd_distance_bound(t, lr, L_max, mu, dist0_sq, sigma_star_sq):
    """E||x_t - x*||^2 <= r + (1 - lr mu)^t (||x_0 - x*||^2 - r), r = 2 lr
    sigma*^2 / mu, for 0 < lr <= 1/(2 L_max).

    Single-sample SGD on f = (1/n) sum_i f_i with each f_i convex and
    L_max-smooth and f mu-strongly convex (Gower et al. 2019, Thm 3.1; Garrigos
    & Gower 2023, sec. 5). As t grows the bound falls to the noise ball r, not
    to 0.
    """
    L_max, mu = _smoothness(L_max, mu)
    lr = _step(lr, 1.0 / (2.0 * L_max))
    ball = sgd_distance_floor(lr, mu, sigma_star_sq)
    return ball + (1.0 - lr * mu) ** _times(t) * (
        _amount("dist0_sq", dist0_sq) - ball
    )


def sgd_robbins_monro_distance_bound(
    t, beta, gamma, L_max, mu, dist0_sq, sigma_star_sq
):
    """E||x_t - x*||^2 <= nu / (gamma + t + 1) for SGD with
    lr_t = beta / (gamma + t + 1), in the setting of
    :func:`sgd_distance_bound`; nu = max(2 beta^2 sigma*^2 / (beta mu - 1),
    (gamma + 1) ||x_0 - x*||^2).

    Requires beta > 1/mu and a first step beta/(gamma + 1) <= 1/(2 L_max). The
    steps satisfy Robbins and Monro's conditions sum lr_t = inf, sum
    lr_t^2 < inf (the induction of Bottou et al. 2018, Thm 4.7).
    """
    L_max, mu = _smoothness(L_max, mu)
    beta, gamma = _robbins_monro(beta, gamma, mu, 0.5 / L_max, "1/(2 L_max)")
    sigma_star_sq = _validate.real("sigma_star_sq", sigma_star_sq, low=0.0)
    nu = max(
        2.0 * beta**2 * sigma_star_sq / (beta * mu - 1.0),
        (gamma + 1.0) * _amount("dist0_sq", dist0_sq),
    )
    return nu / (gamma + _times(t) + 1.0)


def _momentum_beta(beta) -> float:
    return _validate.real("beta", beta, low=0.0, high=1.0, high_open=True)


def momentum_roots(
    lr, beta, eigenvalues, nesterov: bool = False
) -> np.ndarray:
    """The two roots z of each eigen-mode's characteristic polynomial, shape
    (len(eigenvalues), 2), complex.

    On f = 1/2 x^T A x - b^T x, each eigen-component e of x_t - x*
    (eigenvalue lam of A) obeys a scalar two-term recurrence, hence
    e_t = c1 z1^t + c2 z2^t with z1, z2 the roots of
        heavy ball  x_{t+1} = x_t - lr grad f(x_t) + beta (x_t - x_{t-1}):
                        z^2 - (1 + beta - lr lam) z + beta
        Nesterov    x_{t+1} = y_t - lr grad f(y_t),
                    y_t = x_t + beta (x_t - x_{t-1}):
                        z^2 - (1 + beta)(1 - lr lam) z + beta (1 - lr lam)
    (Polyak 1987, sec. 3.2.1; the same recurrences hold for torch's form, see
    gdbook.momentum).
    """
    lr = _step(lr, np.inf)
    beta = _momentum_beta(beta)
    lam = np.atleast_1d(np.asarray(eigenvalues, dtype=float))
    s = 1.0 - lr * lam
    trace, det = (
        ((1.0 + beta) * s, beta * s)
        if nesterov
        else (1.0 + beta - lr * lam, np.full_like(lam, beta))
    )
    root = np.sqrt((trace**2 - 4.0 * det).astype(complex))
    return np.stack([(trace + root) / 2.0, (trace - root) / 2.0], axis=-1)


def momentum_rate(lr, beta, eigenvalues, nesterov: bool = False) -> float:
    """The spectral radius max |z| over the roots of :func:`momentum_roots`:
    the asymptotic factor per step by which heavy ball (or Nesterov) shrinks
    x_t - x* on a quadratic; >= 1 means no convergence.

    beta = 0 gives gradient descent's max |1 - lr lam|
    (:func:`quadratic_contraction`). With :func:`heavy_ball_parameters` it is
    (sqrt(k) - 1)/(sqrt(k) + 1); with :func:`nesterov_parameters`,
    1 - 1/sqrt(k) (a double root at lam = mu).
    """
    return float(
        np.max(np.abs(momentum_roots(lr, beta, eigenvalues, nesterov)))
    )


def momentum_max_step(L: float, beta, nesterov: bool = False) -> float:
    """The stability limit on lr for momentum beta in [0, 1) on a quadratic
    with largest eigenvalue L.

    Heavy ball converges iff 0 < lr lam < 2 + 2 beta for every eigenvalue lam,
    so lr < (2 + 2 beta)/L; Nesterov iff 0 < lr lam < (2 + 2 beta)/(1 + 2
    beta). Both follow from the Schur-Cohn (Jury) test: z^2 + a1 z + a0 has
    both roots inside the unit circle iff |a0| < 1 and |a1| < 1 + a0. beta = 0
    gives gradient descent's 2/L (:func:`max_stable_step`).
    """
    L = _smoothness(L)
    beta = _momentum_beta(beta)
    return (2.0 + 2.0 * beta) / ((1.0 + 2.0 * beta) * L if nesterov else L)


def iterations_to_tolerance(rate, tol):
    """The smallest t with rate^t <= tol: ceil(log(1/tol) / log(1/rate)), for
    0 < rate < 1 and 0 < tol < 1.

    For rate = (k - 1)/(k + 1) (gradient descent, lr = 2/(L + mu)) this is
    about k/2 log(1/tol); for (sqrt(k) - 1)/(sqrt(k) + 1) (tuned heavy ball)
    about sqrt(k)/2 log(1/tol).
    """
    tol = _validate.real(
        "tol", tol, low=0.0, high=1.0, low_open=True, high_open=True
    )
    rate = np.asarray(rate, dtype=float)
    if np.any(~(rate > 0.0) | ~(rate < 1.0)):
        raise ValueError(f"rate must lie in (0, 1), got {rate}")
    t = np.ceil(np.log(tol) / np.log(rate) - 1e-9).astype(int)
    return int(t) if t.ndim == 0 else t

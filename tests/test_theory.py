"""The bounds of gdbook.theory hold on real runs: hypothesis draws random
convex quadratics."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gdbook
from gdbook import data, schedules, stochastic, theory
from gdbook.optim import SGD
from gdbook.problems import LeastSquares, Logistic, Quadratic

# random convex quadratics; in one dimension L = mu, so kappa must be 1 there
quadratics = st.integers(1, 6).flatmap(
    lambda d: st.builds(
        Quadratic.random,
        dim=st.just(d),
        kappa=st.just(1.0) if d == 1 else st.floats(1.0, 1e3),
        seed=st.integers(0, 2**32 - 1),
    )
)
step_fractions = st.floats(0.05, 1.0)  # lr = fraction / L
starts = st.integers(0, 2**32 - 1).map(
    lambda s: np.random.default_rng(s).uniform(-5, 5, 6)
)

SLACK = 1e-9  # relative slack for floating-point round-off only


def _run(problem, x0, lr, steps=60):
    return gdbook.minimize(
        problem, x0[: problem.dim], lr=lr, max_iter=steps, tol=0.0
    ).history


@settings(max_examples=60, deadline=None)
@given(q=quadratics, fraction=step_fractions, x0=starts)
def test_gd_with_lr_at_most_one_over_L_never_increases_f(q, fraction, x0):
    f = _run(q, x0, fraction / q.L)["f"]
    assert np.all(np.diff(f) <= SLACK * np.maximum(np.abs(f[:-1]), 1.0))


@settings(max_examples=60, deadline=None)
@given(q=quadratics, fraction=step_fractions, x0=starts)
def test_convex_rate_holds_at_every_iteration(q, fraction, x0):
    lr = fraction / q.L
    h = _run(q, x0, lr)
    t = np.arange(1, len(h["f"]))
    bound = theory.convex_bound(
        t, lr, q.L, np.linalg.norm(h["x"][0] - q.x_star)
    )
    gaps = h["f"][1:] - q.f_star
    assert np.all(gaps <= bound * (1 + SLACK) + SLACK)


@settings(max_examples=60, deadline=None)
@given(q=quadratics, fraction=step_fractions, x0=starts)
def test_linear_rate_holds_at_every_iteration(q, fraction, x0):
    lr = fraction / q.L
    h = _run(q, x0, lr)
    gaps = h["f"] - q.f_star
    bound = theory.strongly_convex_bound(
        np.arange(len(gaps)), lr, q.L, q.mu, gaps[0]
    )
    assert np.all(gaps <= bound * (1 + SLACK) + 1e-12 * max(gaps[0], 1.0))


@settings(max_examples=40, deadline=None)
@given(q=quadratics, x0=starts)
def test_optimal_step_contracts_the_distance(q, x0):
    h = _run(q, x0, theory.optimal_step(q.L, q.mu))
    distances = np.linalg.norm(h["x"] - q.x_star, axis=1)
    bound = theory.optimal_step_distance_bound(
        np.arange(len(distances)), q.L, q.mu, distances[0]
    )
    assert np.all(distances <= bound * (1 + 1e-7) + 1e-12)


def test_convex_rate_on_a_singular_quadratic():
    """mu = 0: no linear rate, but the O(1/t) bound still holds (x* taken as
    the closest minimiser)."""
    q = Quadratic(np.diag([1.0, 1e-3, 0.0]), np.array([1.0, 1e-3, 0.0]))
    assert q.mu == 0.0 and q.x_star is None
    x0 = np.array([3.0, -4.0, 2.0])
    x_star, f_star = np.array([1.0, 1.0, 2.0]), -0.5 - 0.5e-3
    h = _run(q, x0, 1.0 / q.L, steps=200)
    t = np.arange(1, 201)
    assert np.all(
        h["f"][1:] - f_star
        <= theory.convex_bound(t, 1.0, q.L, np.linalg.norm(x0 - x_star))
        + 1e-15
    )


def _logistic():
    ds = data.logistic_classification(n_samples=80, n_features=3, seed=2)
    return Logistic(ds.X, ds.y)


@pytest.mark.parametrize("fraction", [0.5, 1.0, 1.5, 1.9])
def test_descent_lemma_holds_for_lr_below_two_over_L(fraction):
    problem = _logistic()
    lr = fraction / problem.L
    h = _run(problem, np.full(6, 2.0), lr, steps=80)
    predicted = theory.descent_lemma(
        h["f"][:-1], h["grad_norm"][:-1], lr, problem.L
    )
    assert np.all(h["f"][1:] <= predicted + 1e-12)


@pytest.mark.parametrize("fraction", [0.1, 1.0, 1.5])
def test_descent_inequality_without_step_condition_fails(fraction):
    """The sources' J(t+1) <= J(t) - lr ||grad||^2 fails at every step on a
    strictly convex quadratic, for any lr > 0 (f drops by lr ||g||^2 - lr^2/2
    g^T A g, less than claimed), although the run converges."""
    q = Quadratic(np.diag([1.0, 4.0]))
    lr = fraction / q.L
    h = _run(q, np.array([1.0, 1.0]), lr, steps=30)
    claimed = h["f"][:-1] - lr * h["grad_norm"][:-1] ** 2
    assert np.all(h["f"][1:] > claimed)
    assert np.all(np.diff(h["f"]) < 0) and h["f"][-1] < 0.5 * h["f"][0]


@pytest.mark.parametrize("fraction", [0.5, 1.0, 1.8])
def test_nonconvex_stationarity_bound(fraction):
    problem = _logistic()
    lr = fraction / problem.L
    h = _run(problem, np.full(6, 2.0), lr, steps=100)
    f_star = gdbook.minimize(
        problem, np.zeros(3), lr=1.0 / problem.L, max_iter=20000, tol=1e-12
    ).fun
    t = np.arange(1, 101)
    running_min = np.minimum.accumulate(h["grad_norm"][:-1] ** 2)
    assert np.all(
        running_min
        <= theory.nonconvex_bound(t, lr, problem.L, h["f"][0] - f_star)
    )


@pytest.mark.parametrize("lr_factor, diverges", [(1.99, False), (2.01, True)])
def test_contraction_factor_predicts_divergence(lr_factor, diverges):
    q = Quadratic.random(3, 5.0, seed=4)
    lr = lr_factor / q.L
    assert (theory.quadratic_contraction(lr, q.eigenvalues) > 1) == diverges
    result = gdbook.minimize(q, np.ones(3), lr=lr, max_iter=20000, tol=1e-8)
    assert result.success != diverges


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_heavy_ball_parameters_reach_the_sqrt_kappa_rate(kappa):
    q = Quadratic.random(8, kappa, seed=5)
    lr, beta = theory.heavy_ball_parameters(q.L, q.mu)
    # torch's form v <- beta v + g, x <- x - lr v is Polyak's heavy ball with
    # the same lr and beta
    h = gdbook.minimize(
        q, np.ones(8), SGD(lr=lr, momentum=beta), max_iter=2000, tol=1e-9
    ).history
    distances = np.linalg.norm(h["x"] - q.x_star, axis=1) / np.linalg.norm(
        h["x"][0] - q.x_star
    )
    t1, t2 = (
        np.argmax(distances < 1e-3),
        np.argmax(distances < 1e-8),
    )  # past the transient, above round-off
    rate = (distances[t2] / distances[t1]) ** (1 / (t2 - t1))
    root = np.sqrt(kappa)
    assert rate <= (root - 1) / (root + 1) * 1.05
    assert (
        rate < 1 - 1 / kappa
    )  # far faster than gradient descent's 1 - 1/kappa


def test_sgd_constant_step_reaches_the_noise_floor_in_expectation():
    """Monte Carlo over 4000 runs with unbiased noise of variance M: the mean
    gap obeys Bottou et al.'s bound."""
    q = Quadratic(np.diag([1.0, 4.0]))
    noise_variance, lr, steps, runs = 0.5, 0.1, 120, 4000
    rng = np.random.default_rng(0)
    x = np.tile([2.0, -2.0], (runs, 1))
    gaps = [np.mean(0.5 * np.sum(x * x * q.eigenvalues, axis=1))]
    for _ in range(steps):
        noise = rng.standard_normal(x.shape) * np.sqrt(noise_variance / 2)
        x = x - lr * (x * q.eigenvalues + noise)
        gaps.append(np.mean(0.5 * np.sum(x * x * q.eigenvalues, axis=1)))
    gaps = np.array(gaps)
    bound = theory.sgd_constant_step_bound(
        np.arange(steps + 1), lr, q.L, q.mu, gaps[0], noise_variance
    )
    assert np.all(gaps <= bound * 1.03)
    # the gap settles at the stationary level sum_i lr sigma^2 / (2 (2 - lr
    # lambda_i)), not at zero
    stationary = np.sum(
        lr * (noise_variance / 2) / (2 * (2 - lr * q.eigenvalues))
    )
    assert np.mean(gaps[-20:]) == pytest.approx(stationary, rel=0.05)
    assert stationary <= theory.sgd_gap_floor(lr, q.L, q.mu, noise_variance)


def test_robbins_monro_bound_and_its_conditions():
    q = Quadratic(np.diag([1.0, 4.0]))
    beta, gamma, noise_variance = 2.0, 8.0, 0.5
    rng = np.random.default_rng(1)
    x = np.tile([2.0, -2.0], (4000, 1))
    gaps = [np.mean(0.5 * np.sum(x * x * q.eigenvalues, axis=1))]
    for t in range(300):
        noise = rng.standard_normal(x.shape) * np.sqrt(noise_variance / 2)
        x = x - beta / (gamma + t + 1) * (x * q.eigenvalues + noise)
        gaps.append(np.mean(0.5 * np.sum(x * x * q.eigenvalues, axis=1)))
    bound = theory.sgd_diminishing_bound(
        np.arange(301), beta, gamma, q.L, q.mu, gaps[0], noise_variance
    )
    assert np.all(np.array(gaps) <= bound * 1.03)
    with pytest.raises(ValueError, match="beta must be > 1/mu"):
        theory.sgd_diminishing_bound(1, 0.5, gamma, q.L, q.mu, 1.0, 1.0)
    with pytest.raises(ValueError, match="gamma"):
        theory.sgd_diminishing_bound(1, 2.0, 1.0, q.L, q.mu, 1.0, 1.0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: theory.max_stable_step(0.0), "L must be > 0"),
        (lambda: theory.optimal_step(1.0, 2.0), "mu must be <= 1.0"),
        (lambda: theory.convex_bound(1, 2.0, 1.0, 1.0), "lr must be <= 1.0"),
        (
            lambda: theory.strongly_convex_bound(1, -1.0, 1.0, 0.5, 1.0),
            "lr must be > 0",
        ),
        (lambda: theory.nonconvex_bound(1, 2.0, 1.0, 1.0), "lr must be < 2/L"),
    ],
)
def test_bounds_reject_parameters_outside_their_theorem(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- quadratics: any step size, the optimal one, and divergence beyond 2/L
# ----


@settings(max_examples=60, deadline=None)
@given(q=quadratics, fraction=st.floats(0.05, 1.99), x0=starts)
def test_quadratic_distance_bound_holds_for_every_stable_step(q, fraction, x0):
    lr = fraction / q.L
    h = _run(q, x0, lr)
    distances = np.linalg.norm(h["x"] - q.x_star, axis=1)
    bound = theory.quadratic_distance_bound(
        np.arange(len(distances)), lr, q.L, q.mu, distances[0]
    )
    assert np.all(distances <= bound * (1 + 1e-7) + 1e-12)


def test_quadratic_distance_bound_is_smallest_at_the_optimal_step():
    L, mu = 10.0, 1.0
    lrs = np.linspace(0.01, 0.199, 400)
    factors = [
        theory.quadratic_distance_bound(1, lr, L, mu, 1.0) for lr in lrs
    ]
    assert lrs[int(np.argmin(factors))] == pytest.approx(
        theory.optimal_step(L, mu), abs=1e-3
    )
    assert theory.quadratic_distance_bound(
        7, theory.optimal_step(L, mu), L, mu, 2.0
    ) == pytest.approx(
        theory.optimal_step_distance_bound(7, L, mu, 2.0), rel=1e-12
    )


@pytest.mark.parametrize("fraction", [2.05, 2.5])
def test_divergence_lower_bound_holds_and_grows_beyond_two_over_L(fraction):
    q = Quadratic.random(4, 8.0, seed=11)
    lr = fraction / q.L
    x0 = q.x_star + np.array([1.0, -1.0, 0.5, 2.0])
    v = np.linalg.eigh(q.A)[1][:, -1]
    h = _run(
        q, x0, lr, steps=60
    )  # minimize stops early once the run has clearly diverged
    distances = np.linalg.norm(h["x"] - q.x_star, axis=1)
    bound = theory.divergence_lower_bound(
        np.arange(len(distances)), lr, q.L, (x0 - q.x_star) @ v
    )
    assert np.all(distances >= bound * (1 - 1e-9))
    assert bound[-1] > 10 * bound[0] and distances[-1] > distances[0]


# ---- SGD on a finite sum: single-sample gradients, sigma*^2 and L_max (Monte
# Carlo over runs) ----


def _sgd_problem():
    ds = data.linear_regression(
        n_samples=100, noise=1.0, seed=5, x_range=(-1.0, 1.0)
    )
    model = LeastSquares(data.add_intercept(ds.X), ds.y)
    return model, stochastic.gradient_variance(model, model.x_star)


def test_sgd_constant_lr_obeys_bound_and_settles_in_ball_proportional_to_lr():
    model, sigma2 = _sgd_problem()
    w0 = model.x_star + np.array([3.0, -2.0])
    plateaus = []
    for lr in (0.5 / model.L_max, 0.25 / model.L_max):
        paths = stochastic.sgd_ensemble(
            model, w0, lr, steps=600, runs=2000, seed=3
        )
        mean, error = stochastic.mean_squared_distance(paths, model.x_star)
        bound = theory.sgd_distance_bound(
            np.arange(601), lr, model.L_max, model.mu, 13.0, sigma2
        )
        assert np.all(mean <= bound + 4 * error)
        plateaus.append(mean[-200:].mean())
        assert (
            0.05 * theory.sgd_distance_floor(lr, model.mu, sigma2)
            < plateaus[-1]
            < theory.sgd_distance_floor(lr, model.mu, sigma2)
        )
    assert plateaus[1] / plateaus[0] == pytest.approx(0.5, abs=0.1)


def test_sgd_robbins_monro_bound_holds_and_beats_the_constant_step_ball():
    model, sigma2 = _sgd_problem()
    w0 = model.x_star + np.array([3.0, -2.0])
    beta = 2.0 / model.mu
    gamma = (
        2.0 * beta * model.L_max - 1.0
    )  # first step beta/(gamma+1) = 1/(2 L_max)
    schedule = schedules.inverse_time(
        beta / (gamma + 1.0), 1.0 / (gamma + 1.0)
    )
    paths = stochastic.sgd_ensemble(
        model, w0, schedule, steps=4000, runs=1000, seed=4, record_every=10
    )
    mean, error = stochastic.mean_squared_distance(paths, model.x_star)
    t = np.arange(0, 4001, 10)
    bound = theory.sgd_robbins_monro_distance_bound(
        t, beta, gamma, model.L_max, model.mu, 13.0, sigma2
    )
    assert np.all(mean <= bound + 4 * error)
    assert mean[-1] < 0.2 * theory.sgd_distance_floor(
        0.5 / model.L_max, model.mu, sigma2
    )
    with pytest.raises(ValueError, match="beta must be > 1/mu"):
        theory.sgd_robbins_monro_distance_bound(
            1, 0.5 / model.mu, gamma, model.L_max, model.mu, 1.0, 1.0
        )
    with pytest.raises(ValueError, match="gamma"):
        theory.sgd_robbins_monro_distance_bound(
            1, beta, 0.0, model.L_max, model.mu, 1.0, 1.0
        )


def test_sgd_distance_bound_rejects_steps_above_one_over_2_L_max():
    with pytest.raises(ValueError, match="lr must be <= 0.25"):
        theory.sgd_distance_bound(1, 0.3, 2.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="mu must be > 0"):
        theory.sgd_distance_floor(0.1, 0.0, 1.0)
    with pytest.raises(ValueError, match="sigma_star_sq must be >= 0"):
        theory.sgd_distance_floor(0.1, 1.0, -1.0)


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: theory.nonconvex_bound(0, 0.1, 1.0, 1.0),
            r"t must hold finite iteration counts >= 1",
        ),
        (
            lambda: theory.convex_bound([1, np.nan], 0.1, 1.0, 1.0),
            r"t must hold finite iteration counts",
        ),
        (
            lambda: theory.strongly_convex_bound(-1, 0.1, 1.0, 0.5, 1.0),
            r"t must hold finite iteration counts >= 0",
        ),
        (
            lambda: theory.strongly_convex_bound(3, 0.1, 1.0, 0.5, -1.0),
            "gap0 must be >= 0",
        ),
        (
            lambda: theory.convex_bound(3, 0.1, 1.0, np.inf),
            "dist0 must be finite",
        ),
        (lambda: theory.sgd_gap_floor(-0.1, 1.0, 0.5, 1.0), "lr must be > 0"),
        (
            lambda: theory.sgd_gap_floor(0.1, 1.0, 0.5, -1.0),
            "noise must be >= 0",
        ),
        (
            lambda: theory.quadratic_contraction(np.nan, [1.0, 2.0]),
            "lr must be finite",
        ),
        (
            lambda: theory.divergence_lower_bound(3, 0.1, 1.0, "1"),
            "component must be a real number",
        ),
        (
            lambda: theory.sgd_diminishing_bound(
                3, 10.0, -5.0, 1.0, 0.5, 1.0, 1.0
            ),
            "gamma must be >= 0",
        ),
        (
            lambda: theory.sgd_distance_bound(3, 0.1, 1.0, 0.5, -2.0, 1.0),
            "dist0_sq must be >= 0",
        ),
    ],
)
def test_bounds_refuse_bad_arguments_naming_them(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()

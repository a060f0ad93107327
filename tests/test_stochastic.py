"""gdbook.stochastic: mini-batch gradients are unbiased, their noise follows
the sampling formula, the cost accounting matches what minimize draws, and the
noise ball is where constant-step SGD settles."""

import numpy as np
import pytest

import gdbook
from gdbook import data, stochastic
from gdbook.problems import LeastSquares, Quadratic


@pytest.fixture(scope="module")
def problem():
    ds = data.linear_regression(n_samples=60, n_features=2, noise=0.5, seed=4)
    return LeastSquares(data.add_intercept(ds.X), ds.y, l2=0.01)


def test_per_sample_gradients_average_to_the_gradient_and_match_batches(
    problem,
):
    x = np.array([0.5, -1.0, 2.0])
    g = stochastic.per_sample_gradients(problem, x)
    assert g.shape == (problem.n_samples, 3)
    np.testing.assert_allclose(g.mean(axis=0), problem.grad(x), atol=1e-12)
    idx = np.array([3, 7, 11])
    np.testing.assert_allclose(
        g[idx].mean(axis=0), problem.grad(x, idx), atol=1e-12
    )


@pytest.mark.parametrize("replace", [False, True])
def test_gradient_noise_is_the_exact_variance_over_all_batches(replace):
    # n = 5, b = 2: enumerate every batch and compare with the formula
    rng = np.random.default_rng(0)
    small = LeastSquares(rng.standard_normal((5, 2)), rng.standard_normal(5))
    x = np.array([0.3, -0.2])
    full = small.grad(x)
    if replace:
        batches = [np.array([i, j]) for i in range(5) for j in range(5)]
    else:
        batches = [np.array([i, j]) for i in range(5) for j in range(i + 1, 5)]
    exact = np.mean(
        [np.sum((small.grad(x, idx) - full) ** 2) for idx in batches]
    )
    assert stochastic.gradient_noise(
        small, x, 2, replace=replace
    ) == pytest.approx(exact, rel=1e-12)


def test_gradient_noise_vanishes_at_full_batch_and_falls_with_the_batch_size(
    problem,
):
    x = np.zeros(3)
    noise = [stochastic.gradient_noise(problem, x, b) for b in (1, 2, 10, 60)]
    assert noise[-1] == 0.0 and all(
        a > b for a, b in zip(noise, noise[1:], strict=False)
    )
    assert stochastic.gradient_noise(problem, x, 10, replace=True) > noise[2]


@pytest.mark.parametrize("replace", [False, True])
def test_minibatch_gradients_are_unbiased_with_the_predicted_noise(
    problem, replace
):
    x = np.array([1.0, 0.0, -1.0])
    draws = stochastic.minibatch_gradients(
        problem, x, 6, n_draws=4000, seed=1, replace=replace
    )
    assert draws.shape == (4000, 3)
    noise = stochastic.gradient_noise(problem, x, 6, replace=replace)
    spread = np.sqrt(noise / 4000)
    assert np.linalg.norm(draws.mean(axis=0) - problem.grad(x)) < 5 * spread
    assert np.mean(
        np.sum((draws - problem.grad(x)) ** 2, axis=1)
    ) == pytest.approx(noise, rel=0.1)


def test_minibatch_gradients_without_replacement_use_distinct_samples():
    # one sample per index with gradient e_i: a batch mean then shows which
    # indices were drawn
    n = 8
    unit = LeastSquares(
        np.eye(n) * np.sqrt(n), np.zeros(n)
    )  # grad f_i(x) = n x_i e_i
    draws = stochastic.minibatch_gradients(
        unit, np.ones(n) / n, 4, n_draws=200, seed=2
    )
    np.testing.assert_allclose(np.count_nonzero(draws, axis=1), 4)


@pytest.mark.parametrize("n, b", [(10, 3), (12, 4), (7, 7), (5, None)])
def test_accounting_matches_what_minimize_draws(n, b):
    rng = np.random.default_rng(n)
    counted = []

    class Counting(LeastSquares):
        def grad(self, x, idx=None):
            if idx is not None:
                counted.append(len(idx))
            return super().grad(x, idx)

    problem = Counting(rng.standard_normal((n, 2)), rng.standard_normal(n))
    gdbook.minimize(
        problem, np.zeros(2), lr=0.01, batch_size=b, max_iter=9, tol=0.0
    )
    sizes = stochastic.batch_sizes(n, b, 9)
    if b is None:
        np.testing.assert_array_equal(sizes, [n] * 9)
    else:
        np.testing.assert_array_equal(sizes, counted)
    evaluations = stochastic.gradient_evaluations(n, b, 9)
    assert (
        evaluations[0] == 0
        and evaluations[-1] == sizes.sum()
        and len(evaluations) == 10
    )


@pytest.mark.parametrize(
    "b, updates", [(1, 10), (3, 4), (4, 3), (10, 1), (None, 1)]
)
def test_an_epoch_costs_n_evaluations_whatever_the_batch_size(b, updates):
    assert stochastic.updates_per_epoch(10, b) == updates
    assert stochastic.gradient_evaluations(10, b, 3 * updates)[-1] == 30


def test_noise_ball_measures_the_tail_mean_and_its_uncertainty():
    # an AR(1) series x_t = phi x_{t-1} + e_t around 2 after a transient: its
    # mean's standard error is sd(x) sqrt((1 + phi) / ((1 - phi) N)), sqrt(19)
    # times what independent values would give
    rng, phi, n = np.random.default_rng(5), 0.9, 40_000
    x = np.zeros(n)
    for t, e in enumerate(0.1 * rng.standard_normal(n - 1), start=1):
        x[t] = phi * x[t - 1] + e
    gaps = np.concatenate([np.full(100, 50.0), 2.0 + x])
    mean, error = stochastic.measured_gap_level(gaps, burn_in=100)
    expected = 0.1 / np.sqrt(1 - phi**2) * np.sqrt((1 + phi) / ((1 - phi) * n))
    assert mean == pytest.approx(2.0, abs=4 * expected)
    assert error == pytest.approx(expected, rel=0.4)


def test_predicted_gap_level_matches_constant_step_sgd(problem):
    lr = 0.05
    run = gdbook.minimize(
        problem,
        np.zeros(3),
        lr=lr,
        batch_size=1,
        max_iter=30_000,
        tol=0.0,
        seed=3,
    )
    mean, error = stochastic.measured_gap_level(
        run.history["f"] - problem.f_star, burn_in=5000
    )
    predicted = stochastic.predicted_gap_level(problem, lr, 1)
    assert mean == pytest.approx(predicted, rel=0.2)
    assert stochastic.predicted_gap_level(problem, lr / 2, 1) == pytest.approx(
        predicted / 2
    )


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda p: stochastic.gradient_noise(p, np.zeros(3), 0),
            "batch_size must be >= 1",
        ),
        (
            lambda p: stochastic.gradient_noise(p, np.zeros(3), 61),
            "batch_size must be <= n_samples = 60",
        ),
        (
            lambda p: stochastic.minibatch_gradients(
                p, np.zeros(3), 2, n_draws=0
            ),
            "n_draws",
        ),
        (
            lambda p: stochastic.predicted_gap_level(p, 2.5 / p.L, 1),
            "lr must be <",
        ),
        (lambda p: stochastic.predicted_gap_level(p, -1.0, 1), "lr must be >"),
        (
            lambda p: stochastic.measured_gap_level([1.0, np.nan], 0),
            "gaps must be",
        ),
        (
            lambda p: stochastic.measured_gap_level(np.ones(30), burn_in=25),
            "burn_in must leave",
        ),
        (
            lambda p: stochastic.batch_sizes(10, 11, 3),
            "batch_size must be <= n_samples = 10",
        ),
        (lambda p: stochastic.batch_sizes(10, 2, -1), "n_steps"),
        (lambda p: stochastic.updates_per_epoch(0, 1), "n_samples"),
    ],
)
def test_bad_arguments_are_named(problem, call, match):
    with pytest.raises(ValueError, match=match):
        call(problem)


def test_problems_without_samples_or_minimiser_are_refused():
    with pytest.raises(ValueError, match="n_samples"):
        stochastic.per_sample_gradients(Quadratic(np.eye(2)), np.zeros(2))
    no_minimiser = LeastSquares(np.ones((4, 2)), np.ones(4))
    no_minimiser.x_star = None
    with pytest.raises(ValueError, match="x_star"):
        stochastic.predicted_gap_level(no_minimiser, 0.1, 1)


def test_log_binned_averages_within_log_spaced_bins():
    x = np.arange(1.0, 1001.0)
    centres, means = stochastic.log_binned(
        x, np.full(1000, 3.0), bins_per_decade=1
    )
    np.testing.assert_allclose(means, 3.0)
    assert len(centres) == 4  # [1], (1, 10], (10, 100], (100, 1000]
    np.testing.assert_allclose(
        centres[1], np.exp(np.mean(np.log(np.arange(2.0, 11.0))))
    )
    _, means = stochastic.log_binned(x, x, bins_per_decade=1)
    np.testing.assert_allclose(means, [1.0, 6.0, 55.5, 550.5])
    centres, means = stochastic.log_binned(
        [1.0, 2.0, 3.0], [4.0, 5.0, 6.0], bins_per_decade=100
    )
    np.testing.assert_allclose(
        centres, [1.0, 2.0, 3.0]
    )  # fine bins keep every point
    np.testing.assert_allclose(means, [4.0, 5.0, 6.0])


@pytest.mark.parametrize(
    "x, y, match",
    [
        ([1.0, 2.0], [1.0], "same length"),
        ([0.0, 1.0], [1.0, 1.0], "positive and strictly increasing"),
        ([2.0, 1.0], [1.0, 1.0], "positive and strictly increasing"),
    ],
)
def test_log_binned_rejects_bad_axes(x, y, match):
    with pytest.raises(ValueError, match=match):
        stochastic.log_binned(x, y)

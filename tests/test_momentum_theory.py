"""gdbook.theory's momentum functions against eigenvalues of the iteration
matrix and against real runs."""

import numpy as np
import pytest

import gdbook
from gdbook import theory
from gdbook.optim import SGD
from gdbook.problems import Quadratic

BETAS = [0.0, 0.3, 0.6, 0.9, 0.99]


def iteration_matrix(lr, beta, lam, nesterov):
    """The 2x2 matrix mapping (e_t, e_{t-1}) to (e_{t+1}, e_t) for one
    eigen-mode, written from the update rules."""
    s = 1.0 - lr * lam
    if nesterov:  # e_{t+1} = s (e_t + beta (e_t - e_{t-1}))
        return np.array([[s * (1 + beta), -s * beta], [1.0, 0.0]])
    return np.array([[1 + beta - lr * lam, -beta], [1.0, 0.0]])  # heavy ball


def distances(q, opt, x0, steps):
    h = gdbook.minimize(q, x0, opt, max_iter=steps, tol=0.0).history
    return np.linalg.norm(h["x"] - q.x_star, axis=1)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("beta", BETAS)
def test_roots_are_the_eigenvalues_of_the_iteration_matrix(beta, nesterov):
    lams = np.linspace(0.01, 4.5, 37)
    roots = theory.momentum_roots(1.0, beta, lams, nesterov=nesterov)
    for lam, z in zip(lams, roots, strict=True):
        expected = np.linalg.eigvals(
            iteration_matrix(1.0, beta, lam, nesterov)
        )
        np.testing.assert_allclose(
            np.sort_complex(z), np.sort_complex(expected), atol=1e-7
        )
    rate = theory.momentum_rate(1.0, beta, lams, nesterov=nesterov)
    assert rate == pytest.approx(
        max(
            np.abs(
                np.linalg.eigvals(iteration_matrix(1.0, beta, lam, nesterov))
            ).max()
            for lam in lams
        ),
        abs=1e-7,
    )


@pytest.mark.parametrize("nesterov", [False, True])
def test_zero_momentum_is_gradient_descent(nesterov):
    lams = np.array([0.1, 1.0, 3.0, 25.0])
    for lr in [0.01, 0.05, 0.1]:
        assert theory.momentum_rate(lr, 0.0, lams, nesterov) == pytest.approx(
            theory.quadratic_contraction(lr, lams), rel=1e-12
        )
    assert theory.momentum_max_step(
        25.0, 0.0, nesterov
    ) == theory.max_stable_step(25.0)


def test_heavy_ball_rate_is_at_least_root_beta():
    lams = np.geomspace(1.0, 100.0, 50)
    for beta in BETAS[1:]:
        for lr in np.linspace(0.001, 0.05, 30):
            assert theory.momentum_rate(lr, beta, lams) >= np.sqrt(beta) * (
                1 - 1e-12
            )


@pytest.mark.parametrize("kappa", [4.0, 100.0, 1e4])
def test_tuned_rates_have_their_closed_forms(kappa):
    lams = np.geomspace(1.0, kappa, 200)
    root = np.sqrt(kappa)
    lr, beta = theory.heavy_ball_parameters(kappa, 1.0)
    assert theory.momentum_rate(lr, beta, lams) == pytest.approx(
        (root - 1) / (root + 1), rel=1e-6
    )
    lr, beta = theory.nesterov_parameters(kappa, 1.0)
    assert theory.momentum_rate(
        lr, beta, lams, nesterov=True
    ) == pytest.approx(1 - 1 / root, rel=1e-6)
    # and both are far below gradient descent's best, (kappa - 1)/(kappa + 1)
    assert theory.momentum_rate(
        lr, beta, lams, nesterov=True
    ) < theory.quadratic_contraction(theory.optimal_step(kappa, 1.0), lams)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("lr, beta", [(0.05, 0.5), (0.02, 0.8), (0.09, 0.2)])
def test_measured_rate_of_a_run_equals_the_spectral_radius(lr, beta, nesterov):
    q = Quadratic(np.diag([1.0, 3.0, 10.0]))  # x* = 0
    d = distances(
        q, SGD(lr, momentum=beta, nesterov=nesterov), np.ones(3), 400
    )
    measured = (d[400] / d[300]) ** (1 / 100)
    assert measured == pytest.approx(
        theory.momentum_rate(lr, beta, q.eigenvalues, nesterov), rel=0.02
    )


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_stability_limit_separates_convergence_from_divergence(beta, nesterov):
    q = Quadratic(np.diag([0.5, 2.0]))
    limit = theory.momentum_max_step(q.L, beta, nesterov)
    expected = (2 + 2 * beta) / ((1 + 2 * beta) if nesterov else 1.0) / q.L
    assert limit == pytest.approx(expected, rel=1e-12)
    for factor, stable in [(0.97, True), (1.03, False)]:
        lr = factor * limit
        assert (
            theory.momentum_rate(lr, beta, q.eigenvalues, nesterov) < 1
        ) == stable
        d = distances(
            q,
            SGD(lr, momentum=beta, nesterov=nesterov and beta > 0),
            np.ones(2),
            600,
        )
        assert (d[-1] < 1e-3 * d[0]) == stable
        assert (d[-1] > 10 * d[0]) == (not stable)


def test_iterations_to_tolerance_closed_form_and_an_exact_run():
    assert (
        theory.iterations_to_tolerance(0.5, 1e-3) == 10
    )  # 0.5^9 > 1e-3 >= 0.5^10
    assert (
        theory.iterations_to_tolerance(0.1, 1e-3) == 3
    )  # exact powers are not rounded up
    np.testing.assert_array_equal(
        theory.iterations_to_tolerance(np.array([0.5, 0.9]), 0.01), [7, 44]
    )
    # gradient descent on the flattest eigenvector contracts by exactly 1 - lr
    # mu per step
    q = Quadratic(np.diag([1.0, 50.0]))
    lr = 1.0 / q.L
    d = distances(q, SGD(lr), np.array([1.0, 0.0]), 700)
    predicted = theory.iterations_to_tolerance(
        theory.quadratic_contraction(lr, q.eigenvalues), 1e-6
    )
    assert int(np.argmax(d <= 1e-6 * d[0])) == predicted


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: theory.momentum_rate(0.1, 1.0, [1.0]), "beta must be < 1"),
        (lambda: theory.momentum_rate(0.1, -0.1, [1.0]), "beta must be >= 0"),
        (lambda: theory.momentum_roots(0.0, 0.5, [1.0]), "lr must be > 0"),
        (lambda: theory.momentum_max_step(-1.0, 0.5), "L must be > 0"),
        (lambda: theory.iterations_to_tolerance(1.0, 0.1), "rate must lie in"),
        (lambda: theory.iterations_to_tolerance(0.5, 0.0), "tol must be > 0"),
    ],
)
def test_momentum_functions_reject_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()

"""Newton's method and L-BFGS: exactness on quadratics, quadratic convergence,
parity with scipy."""

import numpy as np
import pytest
import scipy.optimize

import gdbook
from gdbook import data
from gdbook.problems import Counted, Logistic, Quadratic, Rosenbrock
from gdbook.second_order import LBFGS, Newton, newton_direction, two_loop


def test_pure_newton_solves_a_quadratic_in_one_step():
    q = Quadratic.random(6, 1e4, seed=0)
    result = gdbook.minimize(
        q, np.zeros(6), Newton(damped=False), max_iter=5, tol=1e-9
    )
    assert result.nit == 1 and result.success
    np.testing.assert_allclose(result.x, q.x_star, rtol=1e-8)


def test_newton_converges_quadratically_on_rosenbrock():
    r = Rosenbrock()
    result = gdbook.minimize(
        r, np.array([-1.2, 1.0]), "newton", max_iter=100, tol=1e-12
    )
    assert result.success, result.message
    errors = np.linalg.norm(result.history["x"] - r.x_star, axis=1)
    tail = errors[(errors < 1e-2) & (errors > 1e-14)]
    assert len(tail) >= 3
    ratios = tail[1:] / tail[:-1] ** 2  # e_{k+1} <= C e_k^2 near the minimiser
    assert np.all(ratios < 50.0)
    assert np.all(
        tail[1:] / tail[:-1] < 0.2
    )  # far faster than any linear rate we meet in GD
    assert np.all(
        result.history["step_size"][-3:] == 1.0
    )  # full steps near the end
    assert result.nhev == result.nit


def test_newton_direction_regularises_an_indefinite_hessian():
    H = np.diag([2.0, -1.0])
    g = np.array([1.0, 1.0])
    p, tau = newton_direction(H, g)
    assert tau > 1.0
    np.testing.assert_allclose((H + tau * np.eye(2)) @ p, -g, atol=1e-12)
    assert g @ p < 0
    p, tau = newton_direction(np.diag([2.0, 1.0]), g)
    assert tau == 0.0
    np.testing.assert_allclose(p, [-0.5, -1.0])


def _bfgs_inverse(s_pairs, y_pairs, dim):
    """The BFGS inverse-Hessian recursion written out with matrices, H0 = gamma
    I of the newest pair."""
    s, y = s_pairs[-1], y_pairs[-1]
    H = (s @ y) / (y @ y) * np.eye(dim)
    for s, y in zip(s_pairs, y_pairs, strict=True):
        rho = 1.0 / (y @ s)
        V = np.eye(dim) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


def test_two_loop_equals_the_matrix_bfgs_update():
    rng = np.random.default_rng(0)
    A = Quadratic.random(5, 20.0, seed=1).A
    s_pairs = [rng.standard_normal(5) for _ in range(3)]
    y_pairs = [A @ s for s in s_pairs]
    g = rng.standard_normal(5)
    np.testing.assert_allclose(
        two_loop(g, s_pairs, y_pairs),
        _bfgs_inverse(s_pairs, y_pairs, 5) @ g,
        rtol=1e-10,
    )
    np.testing.assert_array_equal(two_loop(g, [], []), g)


def test_lbfgs_needs_far_fewer_steps_than_gd_on_an_ill_conditioned_quadratic():
    q = Quadratic.random(20, 1e3, seed=2)
    # tol 1e-6: below that, f(x) - f* ~ ||grad||^2 / L is under the round-off
    # of f, which line searches see
    lbfgs = gdbook.minimize(
        q, np.ones(20), LBFGS(memory=10), max_iter=500, tol=1e-6
    )
    gd = gdbook.minimize(q, np.ones(20), "gd", max_iter=50_000, tol=1e-6)
    assert lbfgs.success and gd.success
    np.testing.assert_allclose(lbfgs.x, q.x_star, atol=1e-6)
    assert 10 * lbfgs.nit < gd.nit


@pytest.mark.parametrize("dim", [2, 100])
def test_lbfgs_matches_scipy_on_rosenbrock(dim):
    r = Rosenbrock(dim=dim)
    x0 = np.tile([-1.2, 1.0], dim // 2)
    ours = gdbook.minimize(r, x0, "lbfgs", max_iter=5000, tol=1e-6)
    ref = scipy.optimize.minimize(
        r.value,
        x0,
        jac=r.grad,
        method="L-BFGS-B",
        options={"maxiter": 5000, "gtol": 1e-8, "ftol": 0.0},
    )
    assert ours.success, ours.message
    np.testing.assert_allclose(ours.x, r.x_star, atol=1e-5)
    np.testing.assert_allclose(ref.x, r.x_star, atol=1e-5)
    assert ours.nfev <= 1.5 * ref.nfev
    assert (
        ours.nfev == ours.njev
    )  # every strong Wolfe trial evaluates f and grad


def test_newton_and_lbfgs_agree_on_logistic_regression():
    ds = data.logistic_classification(n_samples=300, n_features=4, seed=1)
    problem = Logistic(data.add_intercept(ds.X), ds.y, l2=1e-3)
    newton = gdbook.minimize(problem, np.zeros(5), "newton", tol=1e-10)
    lbfgs = gdbook.minimize(
        problem, np.zeros(5), "lbfgs", tol=1e-8, max_iter=500
    )
    assert newton.success and lbfgs.success
    np.testing.assert_allclose(lbfgs.x, newton.x, atol=1e-6)
    assert newton.nit < lbfgs.nit


@pytest.mark.parametrize("method", ["newton", "lbfgs", "gd-armijo"])
def test_search_methods_refuse_lr_and_batches(method):
    ds = data.linear_regression(n_samples=20, seed=0)
    from gdbook.problems import LeastSquares

    problem = LeastSquares(data.add_intercept(ds.X), ds.y)
    with pytest.raises(ValueError, match="lr must be None"):
        gdbook.minimize(problem, np.zeros(2), method, lr=0.1)
    with pytest.raises(ValueError, match="batch_size must be None"):
        gdbook.minimize(problem, np.zeros(2), method, batch_size=5)


def test_line_search_failure_is_reported_not_raised():
    class Inconsistent(Quadratic):
        def value(self, x):  # rises along -grad: no step can satisfy Armijo
            return -5.0 * np.sum(x)

    from gdbook.linesearch import ArmijoGD

    result = gdbook.minimize(
        Inconsistent(np.eye(2)), np.ones(2), ArmijoGD(shrink=0.9), max_iter=10
    )
    assert not result.success
    assert result.message.startswith(
        "line search failed at iteration 1 with ||grad f|| = 1.41"
    )


def test_bad_constants_are_rejected():
    with pytest.raises(ValueError, match="memory"):
        LBFGS(memory=0)
    with pytest.raises(ValueError, match="c2"):
        LBFGS(c1=0.5, c2=0.1)


def _stacks(s_pairs, y_pairs, memory):
    from gdbook.second_order import _append_pair

    n = len(s_pairs[0])
    stacks = (
        np.empty((0, n)),
        np.empty((0, n)),
        np.empty((0, 0)),
        np.empty((0, 0)),
    )
    for s, y in zip(s_pairs, y_pairs, strict=True):
        stacks = _append_pair(memory, *stacks, s, y)
    return stacks


@pytest.mark.parametrize("n_pairs, memory", [(1, 5), (3, 5), (5, 5), (9, 4)])
def test_compact_product_equals_the_two_loop_recursion(n_pairs, memory):
    from gdbook.second_order import compact_product

    rng = np.random.default_rng(n_pairs)
    A = Quadratic.random(12, 1e3, seed=4).A
    s_pairs = [rng.standard_normal(12) for _ in range(n_pairs)]
    y_pairs = [A @ s for s in s_pairs]
    S, Y, R, YY = _stacks(s_pairs, y_pairs, memory)
    assert len(S) == min(n_pairs, memory)
    np.testing.assert_array_equal(S, s_pairs[-memory:])
    np.testing.assert_allclose(R, np.triu(S @ Y.T), rtol=1e-14)
    np.testing.assert_allclose(YY, Y @ Y.T, rtol=1e-14)
    for g in rng.standard_normal((3, 12)):
        expected = two_loop(g, s_pairs[-memory:], y_pairs[-memory:])
        np.testing.assert_allclose(
            compact_product(g, S, Y, R, YY), expected, rtol=1e-10, atol=1e-12
        )
    # the secant condition of the newest pair: H y = s
    np.testing.assert_allclose(
        compact_product(y_pairs[-1], S, Y, R, YY), s_pairs[-1], rtol=1e-10
    )


def test_lbfgs_step_leaves_its_input_state_unchanged():
    import copy

    r = Counted(Rosenbrock(dim=6))
    method, x = LBFGS(memory=3), np.zeros(6)
    state = method.init(r, x)
    for _ in range(5):
        before = copy.deepcopy(state)
        x, _, state_new = method.step(r, x, state)
        for key in before:
            np.testing.assert_array_equal(state[key], before[key])
        state = state_new
    assert len(state["S"]) == 3

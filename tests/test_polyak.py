"""Polyak's step size (gdbook.linesearch.PolyakGD): one step by hand, linear
convergence on a strongly convex quadratic without knowing L, the
G ||x0 - x*|| / sqrt(T+1) bound on nonsmooth convex problems, a wrong f*
reported, bad input refused."""

import math

import numpy as np
import pytest

import gdbook
from gdbook.linesearch import PolyakGD
from gdbook.problems import AbsoluteValue, Quadratic
from gdbook.problems.base import Problem


class L1Fit(Problem):
    """f(x) = mean |A x - b| with b = A x*: convex, nonsmooth, f* = 0."""

    def __init__(self, rows, dim, seed):
        rng = np.random.default_rng(seed)
        self.A, self.x_star = (
            rng.standard_normal((rows, dim)),
            rng.standard_normal(dim),
        )
        self.b, self.dim, self.f_star = self.A @ self.x_star, dim, 0.0

    def _value(self, x):
        return np.mean(np.abs(self.A @ x - self.b))

    def _grad(self, x):
        return self.A.T @ np.sign(self.A @ x - self.b) / len(self.b)


def test_one_step_by_hand():
    q = Quadratic(np.diag([1.0, 10.0]), b=np.array([1.0, 1.0]))
    x0 = np.array([2.0, -1.0])
    g = q.grad(x0)
    step = (q.value(x0) - q.f_star) / (g @ g)
    result = gdbook.minimize(q, x0, PolyakGD(), max_iter=1, tol=0)
    np.testing.assert_allclose(result.x, x0 - step * g, rtol=1e-14)
    assert result.history["step_size"][0] == pytest.approx(step, rel=1e-14)
    capped = gdbook.minimize(q, x0, PolyakGD(max_step=step / 4), max_iter=1)
    assert capped.history["step_size"][0] == step / 4
    by_name = gdbook.minimize(q, x0, "gd-polyak", max_iter=1, tol=0)
    np.testing.assert_array_equal(by_name.x, result.x)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_convergence_on_a_quadratic_without_knowing_L(seed):
    q = Quadratic.random(30, kappa=300.0, seed=seed)
    x0 = np.zeros(30)
    result = gdbook.minimize(q, x0, PolyakGD(), max_iter=400, tol=0)
    d2 = np.sum((result.history["x"] - q.x_star) ** 2, axis=1)
    t = np.arange(d2.size)
    # Fejer: never farther from x*; and the rate 1 - mu/(4L) of the proof
    assert np.all(np.diff(d2) <= 1e-12 * d2[0])
    assert np.all(d2 <= d2[0] * (1 - q.mu / (4 * q.L)) ** t * (1 + 1e-9))
    # GD with the textbook 1/L, which needs L, is far behind
    gd = gdbook.minimize(q, x0, "gd", max_iter=400, tol=0)
    assert result.fun - q.f_star < 1e-6 * (gd.fun - q.f_star)
    # the steps are not limited by the stability limit 2/L of a fixed step
    assert result.history["step_size"].max() > 10 / q.L


@pytest.mark.parametrize(
    "problem",
    [L1Fit(40, 10, seed=0), L1Fit(30, 20, seed=1), AbsoluteValue(dim=5)],
    ids=["l1fit-40x10", "l1fit-30x20", "abs"],
)
def test_nonsmooth_bound_on_the_best_value(problem):
    x0 = np.linspace(1.0, 3.0, problem.dim)
    result = gdbook.minimize(problem, x0, PolyakGD(), max_iter=200, tol=0)
    G = max(np.linalg.norm(problem.grad(x)) for x in result.history["x"])
    R = np.linalg.norm(x0 - problem.x_star)
    best = np.minimum.accumulate(result.history["f"] - problem.f_star)
    t = result.history["t"]
    assert np.all(best <= G * R / np.sqrt(t + 1))


def test_fixed_steps_stall_far_above_polyak_on_a_sharp_problem():
    problem = L1Fit(40, 10, seed=0)
    x0 = np.zeros(10)
    polyak = gdbook.minimize(problem, x0, PolyakGD(), max_iter=200, tol=0)
    fixed = min(
        gdbook.minimize(
            problem, x0, gdbook.optim.SGD(lr=lr), max_iter=200, tol=0
        )
        .history["f"]
        .min()
        for lr in 10.0 ** np.arange(-3.0, 1.0, 0.25)
    )
    assert polyak.history["f"].min() < 1e-6 * fixed


def test_an_overestimated_f_star_stalls_above_it():
    # for convex f, f(x - a g) >= f(x) - a ||g||^2 = f_star: never below
    problem = L1Fit(40, 10, seed=0)
    result = gdbook.minimize(
        problem, np.zeros(10), PolyakGD(f_star=0.05), max_iter=200, tol=0
    )
    assert result.status == gdbook.Status.MAX_ITER
    f = result.history["f"]
    assert np.all(f >= 0.05 - 1e-12) and f[-1] < 0.05 + 1e-6


def test_an_underestimated_f_star_overshoots():
    problem = L1Fit(40, 10, seed=0)
    exact = gdbook.minimize(problem, np.zeros(10), PolyakGD(), max_iter=200)
    low = gdbook.minimize(
        problem, np.zeros(10), PolyakGD(f_star=-0.05), max_iter=200, tol=0
    )
    assert exact.history["f"].min() < 1e-8 < 1e-3 < low.history["f"].min()


def test_f_below_f_star_is_reported():
    problem = L1Fit(40, 10, seed=0)  # f(0) is about 2.3
    result = gdbook.minimize(
        problem, np.zeros(10), PolyakGD(f_star=5.0), max_iter=10
    )
    assert result.status == gdbook.Status.LINE_SEARCH_FAILED
    assert not result.success and result.nit == 0
    assert "below f_star = 5" in result.message


def test_the_step_is_zero_at_the_minimum_and_on_the_level_f_star():
    method = PolyakGD()
    problem = AbsoluteValue(dim=3)
    state = method.init(problem, np.zeros(3))
    x, step, _ = method.step(problem, np.zeros(3), state)
    assert step == 0.0 and np.all(x == 0.0)
    # f_star = 1 reached exactly: no step, not an error
    method = PolyakGD(f_star=1.0)
    x0 = np.array([0.5, -0.25, 0.25])
    x, step, _ = method.step(problem, x0, method.init(problem, x0))
    assert step == 0.0 and np.all(x == x0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"f_star": "0"}, TypeError, "f_star must be a real number"),
        ({"f_star": float("nan")}, ValueError, "f_star must be finite"),
        ({"f_star": math.inf}, ValueError, "f_star must be finite"),
        ({"max_step": 0.0}, ValueError, "max_step must be > 0"),
        ({"max_step": -1}, ValueError, "max_step must be > 0"),
        ({"max_step": float("nan")}, ValueError, "max_step must be > 0"),
        ({"max_step": True}, TypeError, "max_step must be a real number"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        PolyakGD(**kwargs)


def test_a_problem_without_f_star_needs_one():
    X = np.random.default_rng(0).standard_normal((20, 3))
    y = np.where(X[:, 0] > 0, 1.0, 0.0)
    problem = gdbook.problems.Logistic(X, y)
    with pytest.raises(ValueError, match="f_star must be given"):
        gdbook.minimize(problem, np.zeros(3), PolyakGD())
    with pytest.raises(ValueError, match="batch_size must be None"):
        gdbook.minimize(problem, np.zeros(3), PolyakGD(0.0), batch_size=5)

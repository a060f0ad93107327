"""Line searches accept only steps that satisfy their conditions; ArmijoGD
needs no L."""

import numpy as np
import pytest

import gdbook
from gdbook.linesearch import (
    ArmijoGD,
    LineSearchError,
    armijo_holds,
    backtracking,
    curvature_holds,
    strong_wolfe,
)
from gdbook.problems import Beale, Quadratic, Rosenbrock

POINTS = np.random.default_rng(0).uniform(-2, 2, size=(25, 2))


@pytest.mark.parametrize(
    "problem", [Rosenbrock(), Beale(), Quadratic.random(2, 50.0, seed=1)]
)
def test_backtracking_returns_the_first_armijo_step(problem):
    for x in POINTS:
        f0, g0 = problem.value(x), problem.grad(x)
        result = backtracking(problem, x, -g0, f0, g0, step=1.0, shrink=0.5)
        assert armijo_holds(
            f0, -g0 @ g0, result.step, problem.value(x - result.step * g0)
        )
        assert result.f == problem.value(x - result.step * g0)
        if result.step < 1.0:  # the step twice as long was rejected
            longer = 2 * result.step
            assert not armijo_holds(
                f0, -g0 @ g0, longer, problem.value(x - longer * g0)
            )
        assert result.nfev == round(np.log2(1.0 / result.step)) + 1


@pytest.mark.parametrize(
    "problem",
    [
        Rosenbrock(),
        Beale(),
        Rosenbrock(dim=10),
        Quadratic.random(6, 1e3, seed=2),
    ],
)
@pytest.mark.parametrize("c2", [0.1, 0.9])
def test_strong_wolfe_step_satisfies_both_conditions(problem, c2):
    rng = np.random.default_rng(3)
    for _ in range(25):
        x = rng.uniform(-2, 2, problem.dim)
        f0, g0 = problem.value(x), problem.grad(x)
        for d in (
            -g0,
            -g0 / np.linalg.norm(g0),
            -g0 * rng.uniform(0.5, 2.0, problem.dim),
        ):
            r = strong_wolfe(problem, x, d, f0, g0, step=1.0, c2=c2)
            x_new = x + r.step * d
            assert r.f == problem.value(x_new)
            np.testing.assert_array_equal(r.g, problem.grad(x_new))
            assert armijo_holds(f0, g0 @ d, r.step, r.f)
            assert curvature_holds(g0 @ d, r.g @ d, c2)


def test_line_searches_reject_ascent_directions_and_bad_constants():
    r = Rosenbrock()
    x = np.array([-1.0, 1.0])
    f0, g0 = r.value(x), r.grad(x)
    for search in (backtracking, strong_wolfe):
        with pytest.raises(ValueError, match="descent direction"):
            search(r, x, g0, f0, g0)
    with pytest.raises(ValueError, match="c2"):
        strong_wolfe(r, x, -g0, f0, g0, c1=0.5, c2=0.4)
    with pytest.raises(ValueError, match="shrink"):
        backtracking(r, x, -g0, f0, g0, shrink=1.0)


def test_backtracking_reports_an_exhausted_budget():
    r = Rosenbrock()
    x = np.array([-1.0, 1.0])
    f0, g0 = r.value(x), r.grad(x)
    with pytest.raises(
        LineSearchError, match="no Armijo step in 3 evaluations"
    ):
        backtracking(r, x, -g0, f0, g0, step=1e6, max_evals=3)


def test_armijo_gd_converges_without_knowing_L_and_never_increases_f():
    result = gdbook.minimize(
        Rosenbrock(),
        np.array([-1.2, 1.0]),
        "gd-armijo",
        max_iter=20000,
        tol=1e-6,
    )
    assert result.success, result.message
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=1e-5)
    assert np.all(np.diff(result.history["f"]) < 0)
    assert result.nfev > result.nit  # backtracking costs evaluations


def test_armijo_gd_takes_the_exact_steps_it_reports():
    q = Quadratic.random(3, 10.0, seed=0)
    result = gdbook.minimize(
        q, np.ones(3), ArmijoGD(initial_step=1.0), max_iter=30, tol=0.0
    )
    h = result.history
    for t in range(30):
        np.testing.assert_allclose(
            h["x"][t + 1],
            h["x"][t] - h["step_size"][t] * q.grad(h["x"][t]),
            rtol=1e-12,
        )
        assert armijo_holds(
            h["f"][t],
            -(h["grad_norm"][t] ** 2),
            h["step_size"][t],
            h["f"][t + 1],
        )


@pytest.mark.parametrize("search", [backtracking, strong_wolfe])
@pytest.mark.parametrize(
    "options, error, match",
    [
        (dict(step=0.0), ValueError, "step must be > 0"),
        (dict(step=float("nan")), ValueError, "step must be finite"),
        (dict(max_evals=0), ValueError, "max_evals must be >= 1"),
        (dict(max_evals=2.5), TypeError, "max_evals must be an integer"),
    ],
)
def test_bad_step_or_evaluation_budget_is_refused(
    search, options, error, match
):
    problem, x = Rosenbrock(), np.array([-1.2, 1.0])
    g = problem.grad(x)
    with pytest.raises(error, match=match):
        search(problem, x, -g, problem.value(x), g, **options)

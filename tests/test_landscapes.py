"""gdbook.problems.landscapes: the stationary points are where the docstrings
put them, the gradients are right, and the behaviours the FAQ relies on (a
local minimum, a saddle that traps, a kink) happen."""

import numpy as np
import pytest

import gdbook
from gdbook import gradcheck, optim
from gdbook.problems import (
    AbsoluteValue,
    Logistic,
    SaddleValley,
    Scaled,
    TiltedDoubleWell,
    positive_definite_fraction,
)


@pytest.mark.parametrize(
    "problem, points",
    [
        (TiltedDoubleWell(0.3), [[-1.7], [0.2], [1.4]]),
        (SaddleValley(), [[0.7, -0.3], [-1.2, 1.5], [0.1, 0.01]]),
    ],
)
def test_gradient_and_hessian_match_finite_differences(problem, points):
    for x in np.array(points, dtype=float):
        assert gradcheck.check_gradient(
            problem.value, problem.grad, x, rtol=1e-8
        ).ok
        H_fd = np.array(
            [
                gradcheck.numerical_gradient(
                    lambda z, i=i: problem.grad(z)[i], x
                )
                for i in range(problem.dim)
            ]
        )
        np.testing.assert_allclose(problem.hessian(x), H_fd, atol=1e-6)


@pytest.mark.parametrize("tilt", [0.05, 0.3, 0.38])
def test_double_well_has_a_lower_left_minimum_and_a_higher_right_one(tilt):
    well = TiltedDoubleWell(tilt)
    left, right = well.minima
    assert left < well.local_maximum < right
    for x in (left, right, well.local_maximum):
        assert abs(well.grad([x])[0]) < 1e-12
    assert (
        well.hessian([left])[0, 0] > 0
        and well.hessian([right])[0, 0]
        > 0
        > well.hessian([well.local_maximum])[0, 0]
    )
    assert well.f_star == well.value([left]) < well.value([right])
    grid = np.linspace(-3, 3, 6001)[:, None]
    assert well.values(grid).min() >= well.f_star - 1e-12


@pytest.mark.parametrize("tilt", [0.0, -0.1, 0.4, float("nan")])
def test_double_well_rejects_tilts_without_two_minima(tilt):
    with pytest.raises(ValueError, match="tilt"):
        TiltedDoubleWell(tilt)


def test_gradient_descent_stops_in_the_well_it_starts_in():
    well = TiltedDoubleWell(0.3)
    for start, expected in ((1.5, 1), (-0.5, 0)):
        result = gdbook.minimize(
            well, [start], lr=0.1, tol=1e-10, max_iter=2000
        )
        assert (
            result.success and abs(result.x[0] - well.minima[expected]) < 1e-9
        )


def test_saddle_valley_stationary_points():
    valley = SaddleValley()
    for point in (*valley.minima, valley.saddle):
        assert np.all(valley.grad(point) == 0)
    np.testing.assert_array_equal(
        np.linalg.eigvalsh(valley.hessian(valley.saddle)), [-1.0, 1.0]
    )
    for minimum in valley.minima:
        assert valley.value(minimum) == valley.f_star
        assert np.all(np.linalg.eigvalsh(valley.hessian(minimum)) > 0)


def test_gd_on_the_axis_converges_to_the_saddle_and_a_perturbation_escapes():
    valley = SaddleValley()
    trapped = gdbook.minimize(
        valley, [1.0, 0.0], lr=0.1, tol=1e-10, max_iter=2000
    )
    assert trapped.success and np.linalg.norm(trapped.x - valley.saddle) < 1e-9
    escaped = gdbook.minimize(
        valley, [1.0, 1e-8], lr=0.1, tol=1e-10, max_iter=2000
    )
    assert (
        escaped.success and np.linalg.norm(escaped.x - valley.minima[0]) < 1e-9
    )


def test_absolute_value_subgradient_inequality_and_constant_step_oscillation():
    problem = AbsoluteValue(dim=3, scale=2.0)
    rng = np.random.default_rng(0)
    for _ in range(200):
        x, v = rng.standard_normal((2, 3))
        x[0] = 0.0  # a kink in one coordinate
        assert (
            problem.value(v)
            >= problem.value(x) + problem.grad(x) @ (v - x) - 1e-12
        )
    np.testing.assert_array_equal(problem.grad(np.zeros(3)), np.zeros(3))
    result = gdbook.minimize(
        AbsoluteValue(), [1.05], lr=0.1, max_iter=100, tol=0
    )
    np.testing.assert_allclose(
        np.abs(result.history["x"][-10:, 0]), 0.05, atol=1e-12
    )


def test_absolute_value_has_no_hessian_and_validates_arguments():
    with pytest.raises(NotImplementedError):
        AbsoluteValue().hessian([1.0])
    with pytest.raises(ValueError, match="scale"):
        AbsoluteValue(scale=0.0)
    with pytest.raises(ValueError, match="dim"):
        AbsoluteValue(dim=0)


def test_scaled_by_minus_one_and_maximize_give_identical_iterates():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 3))
    y = (rng.uniform(size=50) < 0.5).astype(float)
    loss = Logistic(X, y)
    likelihood = Scaled(loss, -1.0)
    x = rng.standard_normal(3)
    assert likelihood.value(x) == -loss.value(x)
    np.testing.assert_array_equal(likelihood.grad(x), -loss.grad(x))
    np.testing.assert_array_equal(
        likelihood.grad(x, np.array([0, 4])), -loss.grad(x, np.array([0, 4]))
    )
    np.testing.assert_array_equal(likelihood.hessian(x), -loss.hessian(x))
    assert (
        likelihood.L == loss.L
        and likelihood.n_samples == 50
        and likelihood.x_star is None
    )
    descent = gdbook.minimize(
        loss, np.zeros(3), optim.SGD(0.5), max_iter=50, tol=0
    )
    ascent = gdbook.minimize(
        likelihood,
        np.zeros(3),
        optim.SGD(0.5, maximize=True),
        max_iter=50,
        tol=0,
    )
    np.testing.assert_array_equal(descent.history["x"], ascent.history["x"])
    assert np.all(np.diff(ascent.history["f"]) >= 0)


def test_scaled_rejects_non_problems():
    with pytest.raises(TypeError, match="problem"):
        Scaled(np.eye(2), -1.0)


def test_positive_definite_fraction():
    assert positive_definite_fraction(1, 20_000) == pytest.approx(
        0.5, abs=0.02
    )
    fractions = [positive_definite_fraction(d, 20_000) for d in (1, 2, 3, 4)]
    assert all(a > b for a, b in zip(fractions, fractions[1:], strict=False))
    assert positive_definite_fraction(
        3, 1000, seed=5
    ) == positive_definite_fraction(3, 1000, seed=5)
    assert positive_definite_fraction(8, 1000) == 0.0

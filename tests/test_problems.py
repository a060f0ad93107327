"""Every problem's gradient and Hessian against finite differences and torch
autograd; its constants."""

import numpy as np
import pytest
import torch

from gdbook import data
from gdbook.problems import (
    Beale,
    Himmelblau,
    LeastSquares,
    Logistic,
    Quadratic,
    Rosenbrock,
)

RNG = np.random.default_rng(1234)
X_REG = RNG.standard_normal((40, 3))
Y_REG = X_REG @ np.array([1.0, -2.0, 0.5]) + 0.1 * RNG.standard_normal(40)
Y_CLS = (RNG.uniform(size=40) < 0.5).astype(float)


def _torch_value(problem, w):
    """The objective written independently in torch, for autograd to
    differentiate."""
    if isinstance(problem, Quadratic):
        A, b = torch.tensor(problem.A), torch.tensor(problem.b)
        return 0.5 * w @ A @ w - b @ w + problem.c
    if isinstance(problem, LeastSquares):
        X, y = torch.tensor(problem.X), torch.tensor(problem.y)
        return 0.5 * torch.mean((X @ w - y) ** 2) + 0.5 * problem.l2 * w @ w
    if isinstance(problem, Logistic):
        X, y = torch.tensor(problem.X), torch.tensor(problem.y)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ w, y)
        return loss + 0.5 * problem.l2 * w @ w
    if isinstance(problem, Rosenbrock):
        return torch.sum(
            problem.b * (w[1:] - w[:-1] ** 2) ** 2 + (problem.a - w[:-1]) ** 2
        )
    if isinstance(problem, Himmelblau):
        return (w[0] ** 2 + w[1] - 11) ** 2 + (w[0] + w[1] ** 2 - 7) ** 2
    if isinstance(problem, Beale):
        x, y = w[0], w[1]
        return (
            (1.5 - x + x * y) ** 2
            + (2.25 - x + x * y**2) ** 2
            + (2.625 - x + x * y**3) ** 2
        )
    raise TypeError(problem)


PROBLEMS = {
    "quadratic": Quadratic.random(5, 30.0, seed=0),
    "quadratic-psd": Quadratic(np.diag([2.0, 0.0]), np.array([1.0, 0.0])),
    "least-squares": LeastSquares(X_REG, Y_REG),
    "ridge": LeastSquares(X_REG, Y_REG, l2=0.3),
    "logistic": Logistic(X_REG, Y_CLS),
    "logistic-l2": Logistic(X_REG, Y_CLS, l2=0.1),
    "rosenbrock": Rosenbrock(),
    "rosenbrock-5d": Rosenbrock(dim=5),
    "rosenbrock-a2": Rosenbrock(a=2.0, b=10.0),
    "himmelblau": Himmelblau(),
    "beale": Beale(),
}


def _points(problem, count=3):
    rng = np.random.default_rng(7)
    return [rng.uniform(-1.5, 1.5, problem.dim) for _ in range(count)]


def _central_difference(fun, x, h=1e-6):
    """Central finite differences of a scalar or vector function, one
    coordinate at a time."""
    columns = []
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        columns.append(
            (np.asarray(fun(x + e)) - np.asarray(fun(x - e))) / (2 * h)
        )
    return np.stack(columns, axis=-1)


@pytest.mark.parametrize("name", PROBLEMS)
def test_gradient_matches_finite_differences_and_autograd(name):
    problem = PROBLEMS[name]
    for x in _points(problem):
        g = problem.grad(x)
        assert g.shape == x.shape
        np.testing.assert_allclose(
            g, _central_difference(problem.value, x), rtol=1e-5, atol=1e-5
        )
        w = torch.tensor(x, requires_grad=True)
        value = _torch_value(problem, w)
        np.testing.assert_allclose(
            problem.value(x), value.item(), rtol=1e-12, atol=1e-12
        )
        (autograd,) = torch.autograd.grad(value, w)
        np.testing.assert_allclose(g, autograd.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", PROBLEMS)
def test_hessian_matches_finite_differences_and_autograd(name):
    problem = PROBLEMS[name]
    for x in _points(problem):
        H = problem.hessian(x)
        np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-12)
        np.testing.assert_allclose(
            H, _central_difference(problem.grad, x), rtol=1e-5, atol=1e-4
        )
        autograd = torch.autograd.functional.hessian(
            lambda w: _torch_value(problem, w), torch.tensor(x)
        )
        np.testing.assert_allclose(H, autograd.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "name", ["least-squares", "ridge", "logistic", "logistic-l2"]
)
def test_minibatch_gradient_is_the_mean_over_the_batch(name):
    problem = PROBLEMS[name]
    x = _points(problem, 1)[0]
    full_idx = np.arange(problem.n_samples)
    np.testing.assert_allclose(
        problem.grad(x, full_idx), problem.grad(x), rtol=1e-12
    )
    idx = np.array([3, 17, 17, 31])
    sub = type(problem)(problem.X[idx], problem.y[idx], l2=problem.l2)
    np.testing.assert_allclose(problem.grad(x, idx), sub.grad(x), rtol=1e-12)
    single_grads = np.mean(
        [problem.grad(x, np.array([i])) for i in full_idx], axis=0
    )
    np.testing.assert_allclose(
        single_grads, problem.grad(x), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize(
    "dim,kappa", [(2, 1.0), (2, 10.0), (10, 1e3), (50, 1e5)]
)
def test_random_quadratic_has_the_requested_condition_number(dim, kappa):
    q = Quadratic.random(dim, kappa, seed=3)
    eigenvalues = np.linalg.eigvalsh(q.A)
    np.testing.assert_allclose(
        [q.mu, q.L, q.L / q.mu],
        [eigenvalues[0], eigenvalues[-1], kappa],
        rtol=1e-8,
    )
    np.testing.assert_allclose(q.grad(q.x_star), 0.0, atol=1e-8 * kappa)
    assert q.value(q.x_star) == pytest.approx(q.f_star, rel=1e-12, abs=1e-12)
    assert q.kappa == pytest.approx(kappa, rel=1e-8)
    np.testing.assert_array_equal(Quadratic.random(dim, kappa, seed=3).A, q.A)


def test_smoothness_constants_bound_the_hessian_spectrum():
    """L >= lambda_max and mu <= lambda_min of the Hessian at many points
    (equalities for quadratics)."""
    for name in ["least-squares", "ridge", "logistic", "logistic-l2"]:
        problem = PROBLEMS[name]
        for x in _points(problem, 10):
            eigenvalues = np.linalg.eigvalsh(problem.hessian(x))
            assert eigenvalues[-1] <= problem.L * (1 + 1e-12)
            assert eigenvalues[0] >= problem.mu * (1 - 1e-12) - 1e-12
    ls = PROBLEMS["ridge"]
    eigenvalues = np.linalg.eigvalsh(ls.hessian(ls.x_star))
    np.testing.assert_allclose(
        [ls.mu, ls.L], [eigenvalues[0], eigenvalues[-1]], rtol=1e-12
    )
    # at w = 0 every s(1-s) = 1/4, so the logistic bound L is attained there
    logistic = PROBLEMS["logistic-l2"]
    assert np.linalg.eigvalsh(logistic.hessian(np.zeros(3)))[
        -1
    ] == pytest.approx(logistic.L, rel=1e-12)


def test_least_squares_minimiser_matches_lstsq_and_ridge_formula():
    X = data.add_intercept(X_REG)
    ls = LeastSquares(X, Y_REG)
    np.testing.assert_allclose(
        ls.x_star, np.linalg.lstsq(X, Y_REG, rcond=None)[0], rtol=1e-10
    )
    ridge = LeastSquares(X, Y_REG, l2=0.5)
    n = len(Y_REG)
    expected = np.linalg.solve(X.T @ X + 0.5 * n * np.eye(4), X.T @ Y_REG)
    np.testing.assert_allclose(ridge.x_star, expected, rtol=1e-10)
    np.testing.assert_allclose(ridge.grad(ridge.x_star), 0.0, atol=1e-12)
    assert ls.f_star == pytest.approx(ls.value(ls.x_star))


@pytest.mark.parametrize(
    "problem", [Rosenbrock(), Rosenbrock(dim=6), Rosenbrock(a=2.0), Beale()]
)
def test_known_minimisers_are_stationary_with_the_stated_value(problem):
    np.testing.assert_allclose(problem.grad(problem.x_star), 0.0, atol=1e-12)
    assert problem.value(problem.x_star) == pytest.approx(
        problem.f_star, abs=1e-15
    )
    assert np.all(np.linalg.eigvalsh(problem.hessian(problem.x_star)) > 0)


def test_himmelblau_has_four_minima():
    h = Himmelblau()
    for point in h.minima:
        assert h.value(point) == pytest.approx(0.0, abs=1e-20)
        np.testing.assert_allclose(h.grad(point), 0.0, atol=1e-12)
        assert np.all(np.linalg.eigvalsh(h.hessian(point)) > 0)
    assert h.x_star is None


def test_values_evaluates_each_row():
    r = Rosenbrock()
    points = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 2.0]])
    np.testing.assert_allclose(r.values(points), [r.value(p) for p in points])
    with pytest.raises(ValueError, match="points"):
        r.values(np.zeros((3, 3)))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: Quadratic(np.ones((2, 3))), "A must be a square"),
        (
            lambda: Quadratic(np.array([[1.0, 2.0], [0.0, 1.0]])),
            "A must be symmetric",
        ),
        (lambda: Quadratic(np.diag([1.0, -1.0])), "positive semi-definite"),
        (lambda: Quadratic(np.eye(2), b=np.ones(3)), "b must have shape"),
        (lambda: Quadratic.random(3, 0.5), "kappa"),
        (lambda: Quadratic.random(0, 2.0), "dim"),
        (lambda: LeastSquares(np.ones(5), np.ones(5)), "X must be a 2-D"),
        (
            lambda: LeastSquares(np.ones((5, 2)), np.ones((5, 1))),
            r"y must have shape \(5,\)",
        ),
        (lambda: LeastSquares(np.ones((5, 2)), np.ones(5), l2=-1.0), "l2"),
        (
            lambda: Logistic(np.ones((3, 2)), np.array([0.0, 1.0, 2.0])),
            "labels 0 and 1",
        ),
        (lambda: Rosenbrock(dim=1), "dim"),
        (lambda: Rosenbrock(b=0.0), "b must be"),
    ],
)
def test_bad_construction_is_rejected_with_the_argument_named(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_points_and_indices_are_rejected():
    ls = PROBLEMS["least-squares"]
    with pytest.raises(ValueError, match=r"x must have shape \(3,\)"):
        ls.grad(np.zeros(4))
    with pytest.raises(ValueError, match="x must be finite"):
        ls.value(np.array([0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="idx"):
        ls.grad(np.zeros(3), np.array([0, 40]))
    with pytest.raises(ValueError, match="idx"):
        ls.grad(np.zeros(3), np.array([0.5]))
    with pytest.raises(ValueError, match="idx is only allowed"):
        Rosenbrock().grad(np.zeros(2), np.array([0]))


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda: LeastSquares(np.zeros((0, 3)), np.zeros(0)),
            ValueError,
            r"n_samples >= 1",
        ),
        (
            lambda: LeastSquares(np.zeros((5, 0)), np.zeros(5)),
            ValueError,
            r"n_features >= 1",
        ),
        (
            lambda: Logistic(np.zeros((0, 2)), np.zeros(0)),
            ValueError,
            r"n_samples >= 1",
        ),
        (
            lambda: LeastSquares(np.full((4, 2), 1e160), np.ones(4)),
            ValueError,
            "overflows",
        ),
        (
            lambda: LeastSquares(np.ones((3, 2)) * (1 + 1j), np.ones(3)),
            TypeError,
            "must be real",
        ),
        (lambda: Quadratic(np.zeros((0, 0))), ValueError, "size >= 1"),
        (lambda: Quadratic(np.eye(2) * (1 + 1j)), TypeError, "must be real"),
    ],
)
def test_empty_extreme_or_complex_data_is_refused_naming_it(
    make, error, match
):
    with pytest.raises(error, match=match):
        make()

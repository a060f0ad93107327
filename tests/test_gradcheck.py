"""gdbook.gradcheck: finite differences converge at their stated order and
catch wrong gradients."""

import numpy as np
import pytest
import torch

from gdbook import gradcheck, models


def cubic(x):
    """f(x) = sum(x^3 + sin x), whose third derivative is nonzero, so
    truncation errors are visible."""
    return float(np.sum(x**3 + np.sin(x)))


def cubic_grad(x):
    return 3 * x**2 + np.cos(x)


X0 = np.array([0.3, -1.2, 2.0])


@pytest.mark.parametrize("method, order", [("forward", 1), ("central", 2)])
def test_truncation_error_has_the_stated_order(method, order):
    steps = np.array([1e-2, 5e-3, 2.5e-3])
    errors = [
        np.linalg.norm(
            gradcheck.numerical_gradient(cubic, X0, h, method) - cubic_grad(X0)
        )
        for h in steps
    ]
    assert gradcheck.convergence_order(steps, errors) == pytest.approx(
        order, abs=0.05
    )


def test_central_differences_are_exact_on_quadratics_up_to_rounding():
    A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    result = gradcheck.check_gradient(
        lambda x: 0.5 * x @ A @ x, lambda x: A @ x, X0, h=1e-3
    )
    assert result.ok and result.relative_error < 1e-11


def test_error_vs_step_is_v_shaped_with_the_optimum_where_theory_puts_it():
    steps = np.logspace(-13, -1, 25)
    for method, best_range in [
        ("central", (1e-7, 1e-3)),
        ("forward", (1e-10, 1e-6)),
    ]:
        errors = gradcheck.error_vs_step(cubic, cubic_grad, X0, steps, method)
        best = steps[np.argmin(errors)]
        assert best_range[0] <= best <= best_range[1], (method, best)
        assert (
            errors[0] > 100 * errors.min() and errors[-1] > 100 * errors.min()
        )


def test_numerical_gradient_agrees_with_torch_autograd_on_softmax_regression():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 3, 20).astype(float)
    model = models.SoftmaxRegression(X, y)
    w = rng.standard_normal(model.dim)
    wt = torch.tensor(w, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(
        torch.tensor(X) @ wt.reshape(3, 3), torch.tensor(y).long()
    )
    (autograd,) = torch.autograd.grad(loss, wt)
    assert (
        gradcheck.relative_error(
            gradcheck.numerical_gradient(model.value, w), autograd.numpy()
        )
        < 1e-8
    )


@pytest.mark.parametrize(
    "wrong, expected",
    [
        (
            lambda x: 0.5 * cubic_grad(x),
            0.5,
        ),  # a factor of 2 lost, as in loss = mean(r^2), grad = X^T r / n
        (lambda x: -cubic_grad(x), 2.0),  # a sign error
    ],
)
def test_check_gradient_flags_wrong_gradients_with_a_telling_relative_error(
    wrong, expected
):
    result = gradcheck.check_gradient(cubic, wrong, X0)
    assert not result.ok
    assert result.relative_error == pytest.approx(expected, rel=1e-6)
    assert str(result).startswith("MISMATCH")
    good = gradcheck.check_gradient(cubic, cubic_grad, X0)
    assert (
        good.ok and good.relative_error < 1e-8 and str(good).startswith("OK")
    )


def test_worst_index_points_at_the_wrong_coordinate():
    def wrong(x):
        g = cubic_grad(x)
        g[1] += 1e-3
        return g

    result = gradcheck.check_gradient(cubic, wrong, X0)
    assert result.worst_index == 1 and not result.ok
    assert "worst coordinate 1" in str(result)


def test_taylor_remainders_fall_like_h_squared_only_for_the_right_gradient():
    steps = np.logspace(-3, -5, 5)
    v = np.array([1.0, -0.5, 0.25])
    right = gradcheck.taylor_remainders(cubic, cubic_grad, X0, v, steps)
    wrong = gradcheck.taylor_remainders(
        cubic,
        lambda x: cubic_grad(x) + np.array([0.0, 0.0, 0.01]),
        X0,
        v,
        steps,
    )
    assert gradcheck.convergence_order(steps, right) == pytest.approx(
        2.0, abs=0.1
    )
    assert gradcheck.convergence_order(steps, wrong) == pytest.approx(
        1.0, abs=0.1
    )


def test_relative_error_values():
    a = np.array([3.0, 4.0])
    assert gradcheck.relative_error(a, a) == 0.0
    assert gradcheck.relative_error(a, 2 * a) == pytest.approx(0.5)
    assert gradcheck.relative_error(a, -a) == pytest.approx(2.0)
    assert gradcheck.relative_error(np.zeros(2), np.zeros(2)) == 0.0


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: gradcheck.numerical_gradient(cubic, X0, h=0.0),
            ValueError,
            "h must be > 0",
        ),
        (
            lambda: gradcheck.numerical_gradient(cubic, X0, method="backward"),
            ValueError,
            "method must be one of",
        ),
        (
            lambda: gradcheck.numerical_gradient(cubic, [np.nan, 1.0]),
            ValueError,
            "x must be finite",
        ),
        (
            lambda: gradcheck.check_gradient(
                cubic, lambda x: cubic_grad(x)[:2], X0
            ),
            ValueError,
            r"grad\(x\) must have",
        ),
        (
            lambda: gradcheck.check_gradient(cubic, cubic_grad, X0, rtol=-1.0),
            ValueError,
            "rtol must be >= 0",
        ),
        (
            lambda: gradcheck.relative_error(np.ones(2), np.ones(3)),
            ValueError,
            "same shape",
        ),
        (
            lambda: gradcheck.taylor_remainders(
                cubic, cubic_grad, X0, np.ones(2), [0.1]
            ),
            ValueError,
            "direction",
        ),
        (
            lambda: gradcheck.convergence_order([0.1, 0.0], [1.0, 1.0]),
            ValueError,
            "positive",
        ),
        (
            lambda: gradcheck.convergence_order([0.1], [1.0]),
            ValueError,
            "length >= 2",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()

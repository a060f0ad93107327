"""gdbook.momentum's textbook forms against torch's form (gdbook.optim.SGD and
torch.optim.SGD)."""

import numpy as np
import pytest

from gdbook import schedules
from gdbook.momentum import HeavyBall, nesterov_lookahead
from gdbook.optim import SGD

DIM, STEPS = 5, 60
_rng = np.random.default_rng(0)
A = np.diag(np.linspace(0.5, 3.0, DIM))
X0 = _rng.standard_normal(DIM)


def grad(x):
    """A non-quadratic gradient, so that agreement is not an accident of
    linearity."""
    return A @ x + 0.3 * np.sin(3 * x)


def run(opt, steps=STEPS):
    x, state = X0.copy(), opt.init(X0)
    xs = [x]
    for _ in range(steps):
        x, state = opt.step(x, grad(x), state)
        xs.append(x)
    return np.array(xs)


def torch_run(lr, momentum, nesterov=False, steps=STEPS):
    torch = pytest.importorskip("torch")
    p = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum, nesterov=nesterov)
    xs = [X0.copy()]
    for _ in range(steps):
        p.grad = torch.from_numpy(grad(p.detach().numpy()))
        opt.step()
        xs.append(p.detach().numpy().copy())
    return np.array(xs)


@pytest.mark.parametrize(
    "lr, momentum", [(0.1, 0.9), (0.3, 0.5), (0.05, 0.99)]
)
def test_textbook_and_torch_forms_agree_for_a_constant_lr(lr, momentum):
    textbook = run(HeavyBall(lr, momentum))
    np.testing.assert_allclose(
        textbook, run(SGD(lr, momentum=momentum)), rtol=1e-12, atol=1e-13
    )
    np.testing.assert_allclose(
        textbook, torch_run(lr, momentum), rtol=1e-12, atol=1e-13
    )


def test_textbook_velocity_is_minus_lr_times_torch_buffer():
    lr, momentum = 0.2, 0.8
    x, s_text, s_torch = (
        X0.copy(),
        HeavyBall(lr, momentum).init(X0),
        SGD(lr, momentum=momentum).init(X0),
    )
    for _ in range(20):
        g = grad(x)
        x, s_text = HeavyBall(lr, momentum).step(x, g, s_text)
        _, s_torch = SGD(lr, momentum=momentum).step(
            x - s_text["velocity"], g, s_torch
        )
        np.testing.assert_allclose(
            s_text["velocity"],
            -lr * s_torch["momentum_buffer"],
            rtol=1e-12,
            atol=1e-14,
        )


def test_zero_momentum_is_gradient_descent():
    np.testing.assert_array_equal(run(HeavyBall(0.1, 0.0)), run(SGD(0.1)))


def test_a_change_of_lr_separates_the_two_forms_by_the_closed_form():
    lr, momentum, k = 0.2, 0.9, 25
    schedule = schedules.step_decay(
        lr, step_size=k, gamma=0.1
    )  # lr drops to 0.02 at step k
    textbook, torch_form = (
        run(HeavyBall(schedule, momentum)),
        run(SGD(schedule, momentum=momentum)),
    )
    np.testing.assert_allclose(
        textbook[: k + 1], torch_form[: k + 1], rtol=1e-12, atol=1e-13
    )
    # same x_k and buffer b_k (= -v_k / lr); then text - torch = momentum *
    # (lr_new - lr_old) * b_k
    buffer_k = (torch_form[k - 1] - torch_form[k]) / lr
    expected = momentum * (0.1 * lr - lr) * buffer_k
    np.testing.assert_allclose(
        textbook[k + 1] - torch_form[k + 1], expected, rtol=1e-9, atol=1e-14
    )

    # torch's step shrinks with the lr at once; the textbook step keeps its
    # momentum
    def step(xs, t):
        return np.linalg.norm(xs[t + 1] - xs[t])

    assert step(torch_form, k) < 0.2 * step(torch_form, k - 1)
    assert step(textbook, k) > 0.5 * step(textbook, k - 1)
    assert np.max(np.abs(textbook - torch_form)) > 1e-3
    # (tests/test_optim_parity.py checks that torch.optim.SGD with a scheduler
    # follows gdbook.optim.SGD)


@pytest.mark.parametrize("lr, momentum", [(0.1, 0.9), (0.3, 0.5)])
def test_torch_nesterov_iterates_are_the_lookahead_points(lr, momentum):
    xs, ys = nesterov_lookahead(grad, X0, lr, momentum, STEPS)
    np.testing.assert_allclose(
        ys,
        run(SGD(lr, momentum=momentum, nesterov=True)),
        rtol=1e-11,
        atol=1e-13,
    )
    np.testing.assert_allclose(
        ys, torch_run(lr, momentum, nesterov=True), rtol=1e-11, atol=1e-13
    )
    # the look-ahead form is Nesterov's: y_t = x_t + beta (x_t - x_{t-1}),
    # x_{t+1} = y_t - lr grad(y_t)
    np.testing.assert_allclose(
        ys[1:], xs[1:] + momentum * (xs[1:] - xs[:-1]), rtol=1e-12, atol=1e-14
    )
    np.testing.assert_allclose(
        xs[1:],
        ys[:-1] - lr * np.array([grad(y) for y in ys[:-1]]),
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: HeavyBall(0.1, momentum=-0.5), ValueError, "momentum"),
        (lambda: HeavyBall(-0.1, momentum=0.5), ValueError, "lr"),
        (
            lambda: nesterov_lookahead(grad, X0, 0.1, 0.9, -1),
            ValueError,
            "steps",
        ),
        (
            lambda: nesterov_lookahead(grad, X0, 0.1, -0.9, 3),
            ValueError,
            "momentum",
        ),
        (
            lambda: nesterov_lookahead(lambda y: np.ones(2), X0, 0.1, 0.9, 3),
            ValueError,
            r"grad\(y\)",
        ),
        (
            lambda: nesterov_lookahead(grad, [[1.0]], 0.1, 0.9, 3),
            ValueError,
            "x0",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()

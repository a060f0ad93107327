"""gdbook.online: the Reddi et al. counterexample, projected runs and regret,
against closed forms and torch."""

import numpy as np
import pytest

from gdbook import online, optim, schedules
from gdbook.optim.base import Optimizer


def paper_step_sizes(alpha, rounds):
    """alpha_t = alpha / sqrt(t) for t = 1..rounds, the step sizes of Reddi et
    al.'s Theorem 1."""
    return alpha / np.sqrt(np.arange(1, rounds + 1))


def decaying(alpha):
    """The same schedule for gdbook (whose step index starts at 0)."""
    return schedules.inverse_time(alpha, decay=1.0, power=0.5)


def test_losses_gradients_and_projection_follow_the_definition():
    p = online.ReddiCounterexample(C=5.0)
    np.testing.assert_array_equal(p.coefficients(7), [5, -1, -1, 5, -1, -1, 5])
    assert (
        p.value(1, 0.5) == 2.5
        and p.value(2, 0.5) == -0.5
        and p.value(4, [-1.0]) == -5.0
    )
    np.testing.assert_array_equal(p.grad(3, 0.2), [-1.0])
    np.testing.assert_array_equal(p.project([3.0]), [1.0])
    np.testing.assert_array_equal(p.project([-0.25]), [-0.25])
    assert p.adam_betas == (0.0, 1 / 26)


def test_best_fixed_losses_match_a_brute_force_minimum_and_x_star():
    p = online.ReddiCounterexample(C=2.5)
    rounds = 40
    grid = np.linspace(-1, 1, 2001)
    cumulative = np.cumsum(
        np.outer(p.coefficients(rounds), grid), axis=0
    )  # (T, grid): sum_s f_s(x)
    np.testing.assert_allclose(
        p.best_fixed_losses(rounds), cumulative.min(axis=1), atol=1e-12
    )
    assert np.all(grid[cumulative.argmin(axis=1)] == p.x_star[0])


def test_run_is_projected_gradient_descent_with_sgd():
    p, lr, rounds = online.ReddiCounterexample(C=3.0), 0.3, 30
    result = online.run(optim.SGD(lr=lr), p, rounds, x0=0.0)
    x, expected, losses = 0.0, [0.0], []
    for c in p.coefficients(rounds):
        losses.append(c * x)
        x = min(max(x - lr * c, -1.0), 1.0)
        expected.append(x)
    np.testing.assert_allclose(result.x[:, 0], expected, atol=1e-15)
    np.testing.assert_allclose(result.loss, losses, atol=1e-15)
    np.testing.assert_allclose(
        result.step[:, 0], lr * p.coefficients(rounds), atol=1e-15
    )
    regret = np.cumsum(losses) - p.best_fixed_losses(rounds)
    np.testing.assert_allclose(result.regret, regret, atol=1e-12)
    np.testing.assert_allclose(
        result.average_regret, regret / np.arange(1, rounds + 1), atol=1e-12
    )


def test_projected_adam_agrees_with_torch():
    torch = pytest.importorskip("torch")
    p, rounds = online.ReddiCounterexample(C=3.0), 60
    result = online.run(
        optim.Adam(lr=decaying(0.5), betas=p.adam_betas, amsgrad=True),
        p,
        rounds,
    )
    w = torch.ones(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w], lr=0.5, betas=p.adam_betas, amsgrad=True)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda t: 1 / np.sqrt(1 + t)
    )
    trajectory = [1.0]
    for c in p.coefficients(rounds):
        w.grad = torch.tensor([c], dtype=torch.float64)
        opt.step()
        sched.step()
        with torch.no_grad():
            w.clamp_(-1.0, 1.0)
        trajectory.append(w.item())
    np.testing.assert_allclose(
        result.x[:, 0], trajectory, rtol=1e-12, atol=1e-14
    )


class PaperAdam(Optimizer):
    """Adam as written in Reddi et al.'s Algorithm 1 with phi, psi of Adam: no
    bias correction, no eps."""

    def __init__(self, lr, betas):
        super().__init__(lr)
        self.betas = betas

    def _init_state(self, x0):
        return {"m": np.zeros_like(x0), "v": np.zeros_like(x0)}

    def _update(self, x, g, state, lr):
        m = self.betas[0] * state["m"] + (1 - self.betas[0]) * g
        v = self.betas[1] * state["v"] + (1 - self.betas[1]) * g * g
        return x - lr * m / np.sqrt(v), {"m": m, "v": v}


@pytest.mark.parametrize("C", [3.0, 5.0])
def test_adam_stays_at_plus_one_as_in_theorem_1(C):
    """The proof of Theorem 1: with x_1 = 1 and alpha < sqrt(1 - beta2),
    x_t > 0 and x_{3k+1} = 1 for all k."""
    p = online.ReddiCounterexample(C)
    alpha = 0.5 * np.sqrt(1 - p.adam_betas[1])
    for adam in (
        optim.Adam(lr=decaying(alpha), betas=p.adam_betas, eps=0.0),
        PaperAdam(decaying(alpha), p.adam_betas),
    ):
        x = online.run(adam, p, 3000).x[:, 0]
        assert np.all(x > 0)
        assert np.all(x[::3] == 1.0)


def test_adam_average_regret_tends_to_its_limit_and_amsgrad_tends_to_zero():
    p, rounds = online.ReddiCounterexample(C=3.0), 12000
    adam = online.run(
        optim.Adam(lr=decaying(0.5), betas=p.adam_betas, eps=0.0), p, rounds
    )
    ams = online.run(
        optim.Adam(
            lr=decaying(0.5), betas=p.adam_betas, eps=0.0, amsgrad=True
        ),
        p,
        rounds,
    )
    # at x = +1 each round of three costs (C - 2) * (1 - (-1)) more than
    # x* = -1: R_T / T -> 2 (C - 2) / 3
    assert adam.average_regret[-1] == pytest.approx(
        2 * (p.C - 2) / 3, abs=0.01
    )
    assert ams.average_regret[-1] < 0.02
    assert np.all(np.diff(ams.average_regret[3000::3]) < 0)
    assert ams.x[-1, 0] < -0.99 and adam.x[-1, 0] == 1.0


def test_amsgrad_step_ratio_is_C_and_adam_is_not():
    """AMSGrad divides every round by the same max v, so |step| on a C round is
    C times a -1 round's."""
    p, rounds = online.ReddiCounterexample(C=4.0), 3000
    lr = paper_step_sizes(0.5, rounds)
    for amsgrad, low, high in (
        (True, 4.0 - 1e-9, 4.0 + 1e-9),
        (False, 1.0, 2.0),
    ):
        opt = optim.Adam(
            lr=decaying(0.5), betas=p.adam_betas, eps=0.0, amsgrad=amsgrad
        )
        normalised = np.abs(online.run(opt, p, rounds).step[:, 0]) / lr
        ratio = normalised[-3] / normalised[-2:]
        assert np.all((low <= ratio) & (ratio <= high)), ratio


@pytest.mark.parametrize("C", [2.0, 1.0, float("nan")])
def test_counterexample_needs_C_above_2(C):
    with pytest.raises(ValueError, match="C must be"):
        online.ReddiCounterexample(C)


def test_bad_arguments_are_named():
    p = online.ReddiCounterexample()
    with pytest.raises(TypeError, match="optimizer must be"):
        online.run(lambda x: x, p, 10)
    with pytest.raises(ValueError, match="rounds must be >= 1"):
        online.run(optim.SGD(lr=0.1), p, 0)
    with pytest.raises(ValueError, match="x0 must have shape"):
        online.run(optim.SGD(lr=0.1), p, 5, x0=[0.0, 1.0])
    with pytest.raises(ValueError, match="t must be >= 1"):
        p.grad(0, 0.0)
    with pytest.raises(ValueError, match="x must have shape"):
        p.value(1, [0.0, 0.0])

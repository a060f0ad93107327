"""Gradient clipping by global norm in minimize() and train(), equal to
torch.nn.utils.clip_grad_norm_."""

import numpy as np
import pytest
import torch

import gdbook
import gdbook.torch as gt
from gdbook.methods import clip_by_norm
from gdbook.problems import Quadratic


@pytest.mark.parametrize("scale", [1e-3, 0.5, 1.0, 3.0, 1e6])
def test_clip_by_norm_equals_torch(scale):
    g = scale * np.random.default_rng(0).standard_normal(7)
    p = torch.zeros(7, dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_norm_([p], max_norm=1.0)
    np.testing.assert_array_equal(clip_by_norm(g, 1.0), p.grad.numpy())
    assert np.linalg.norm(clip_by_norm(g, 1.0)) <= 1.0


def test_minimize_clips_every_step_to_lr_times_the_norm():
    steep = Quadratic(np.diag([100.0, 1.0]))
    x0 = np.array([5.0, 5.0])
    run = gdbook.minimize(
        steep, x0, lr=0.01, max_iter=200, tol=0.0, clip_norm=2.0
    )
    steps = np.linalg.norm(np.diff(run.history["x"], axis=0), axis=1)
    assert steps.max() <= 0.01 * 2.0 * (1 + 1e-12)
    assert steps[0] == pytest.approx(0.02, rel=1e-6)  # the first is clipped
    x = x0.copy()  # the same run by hand
    for _ in range(200):
        x = x - 0.01 * clip_by_norm(steep.grad(x), 2.0)
    np.testing.assert_allclose(run.x, x, rtol=1e-14)
    unclipped = gdbook.minimize(steep, x0, lr=0.01, max_iter=200, tol=0.0)
    assert not np.allclose(unclipped.x, run.x)


def test_train_clips_like_clip_grad_norm():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(64, 3, generator=generator, dtype=torch.float64)
    y = 100.0 * X[:, :1]  # large residuals: the gradients get clipped

    def model_and_optimizer():
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 1, dtype=torch.float64)
        return model, torch.optim.SGD(model.parameters(), lr=0.1)

    model, optimizer = model_and_optimizer()
    gt.train(
        model,
        torch.nn.MSELoss(),
        (X, y),
        optimizer,
        3,
        batch_size=16,
        shuffle=False,
        clip_norm=0.5,
    )
    twin, twin_optimizer = model_and_optimizer()
    for _ in range(3):
        for rows in torch.arange(64).split(16):
            twin_optimizer.zero_grad()
            torch.nn.functional.mse_loss(twin(X[rows]), y[rows]).backward()
            torch.nn.utils.clip_grad_norm_(twin.parameters(), 0.5)
            twin_optimizer.step()
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_clip_norm_is_refused(bad):
    problem = Quadratic(np.eye(2))
    with pytest.raises(ValueError, match="clip_norm"):
        gdbook.minimize(problem, [1.0, 1.0], lr=0.1, clip_norm=bad)
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = (torch.zeros(4, 2), torch.zeros(4, 1))
    with pytest.raises(ValueError, match="clip_norm"):
        gt.train(model, torch.nn.MSELoss(), data, optimizer, 1, clip_norm=bad)


def test_clip_norm_is_refused_for_a_method_without_gradient_steps():
    problem = Quadratic(np.eye(2))
    with pytest.raises(ValueError, match="clip_norm must be None for"):
        gdbook.minimize(problem, [1.0, 1.0], method="newton", clip_norm=1.0)

"""gdbook.torch.precision: training in float32, pure 16 bits, and mixed
precision with float32 master weights and loss scaling."""

import math

import pytest

torch = pytest.importorskip("torch")

from gdbook.torch import train_in_precision  # noqa: E402
from gdbook.torch.precision import MODES  # noqa: E402

mse = torch.nn.functional.mse_loss


def problem(seed=0):
    torch.manual_seed(seed)
    X = torch.randn(64, 4)
    y = X @ torch.randn(4, 1) + 0.5
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
    )
    return model, X, y


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_trains_a_copy_and_records_float32_losses(mode):
    model, X, y = problem()
    before = [p.detach().clone() for p in model.parameters()]
    run = train_in_precision(model, X, y, mode=mode, lr=0.05, steps=20)
    assert run["loss"].shape == (21,)
    assert run["loss"][-1] < 0.8 * run["loss"][0]  # it learns
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, q)  # the caller's model is untouched
    storage = mode if mode in ("bfloat16", "float16") else "float32"
    dtypes = {p.dtype for p in run["model"].parameters()}
    assert dtypes == {getattr(torch, storage)}
    assert (run["scale"] is None) == (mode != "mixed-float16")
    with torch.no_grad():  # the last loss is the trained weights' float32 one
        out = run["model"].float()(X)
    assert math.isclose(run["loss"][-1], float(mse(out, y)), rel_tol=1e-6)


def test_float32_mode_is_plain_sgd():
    """Step for step the same losses as a hand-written SGD loop."""
    model, X, y = problem()
    run = train_in_precision(model, X, y, mode="float32", lr=0.1, steps=10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(10):
        opt.zero_grad()
        loss = mse(model(X), y)
        losses.append(float(loss.detach()))
        loss.backward()
        opt.step()
    assert run["loss"][:10].tolist() == losses


def test_pure_bfloat16_rounds_small_updates_away_master_weights_keep_them():
    """|lr g| below half of bfloat16's spacing at w: the bfloat16 weights
    never move, the float32 master weights do."""
    torch.manual_seed(0)
    X = torch.randn(32, 1)
    y = 0.5 * X
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)  # gradient about 1, spacing below 1: 2^-8
    kwargs = {"lr": 1e-3, "steps": 20}
    pure = train_in_precision(model, X, y, mode="bfloat16", **kwargs)
    mixed = train_in_precision(model, X, y, mode="mixed-bfloat16", **kwargs)
    assert float(pure["model"].weight.detach()) == 1.0
    assert (pure["loss"] == pure["loss"][0]).all()
    assert float(mixed["model"].weight.detach()) < 0.99
    assert mixed["loss"][-1] < 0.97 * mixed["loss"][0]


def test_loss_scaling_keeps_gradients_that_underflow_in_float16():
    """A loss so small that its gradients flush to zero in a float16
    backward: with scale 1 nothing moves, with 2^16 the weights do."""
    model, X, y = problem()

    def tiny(out, target):
        return 1e-9 * mse(out, target)

    moved = {}
    for scale in (1.0, 2.0**16):
        run = train_in_precision(
            model, X, y, mode="mixed-float16", lr=1e6, steps=3,
            loss_fn=tiny, init_scale=scale, growth_interval=100,
        )  # fmt: skip
        assert run["skipped"] == 0
        moved[scale] = any(
            not torch.equal(p, q)
            for p, q in zip(
                run["model"].parameters(), model.parameters(), strict=True
            )
        )
    assert moved == {1.0: False, 2.0**16: True}


def test_dynamic_loss_scale_skips_on_inf_and_halves():
    """Too large a scale overflows float16: each such step is skipped, the
    scale halved, until it fits; then the weights move."""
    model, X, y = problem()
    run = train_in_precision(
        model, X, y, mode="mixed-float16", lr=0.05, steps=30,
        init_scale=2.0**30, growth_interval=1000,
    )  # fmt: skip
    skipped = run["skipped"]
    assert 5 <= skipped < 30
    halved = [2.0 ** (29 - i) for i in range(skipped)]
    assert run["scale"][:skipped].tolist() == halved
    assert (run["scale"][skipped:] == halved[-1]).all()  # no more skips
    loss = run["loss"]
    assert (loss[: skipped + 1] == loss[0]).all()  # weights unchanged
    assert loss[skipped + 1] < loss[0]


def test_dynamic_loss_scale_doubles_after_clean_steps():
    model, X, y = problem()
    run = train_in_precision(
        model, X, y, mode="mixed-float16", lr=0.05, steps=6,
        init_scale=1.0, growth_interval=2,
    )  # fmt: skip
    assert run["skipped"] == 0
    assert run["scale"].tolist() == [1.0, 2.0, 2.0, 4.0, 4.0, 8.0]


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"mode": "half"}, ValueError, "mode must be one of"),
        ({"lr": 0.0}, ValueError, "lr must be > 0"),
        ({"lr": float("nan")}, ValueError, "lr must be finite"),
        ({"steps": 0}, ValueError, "steps must be >= 1"),
        ({"steps": 2.0}, TypeError, "steps must be an integer"),
        ({"init_scale": -1.0}, ValueError, "init_scale must be > 0"),
        ({"growth_interval": 0}, ValueError, "growth_interval must be >= 1"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, words):
    model, X, y = problem()
    args = {"mode": "float32", "lr": 0.1, "steps": 2, **kwargs}
    with pytest.raises(error, match=words):
        train_in_precision(model, X, y, **args)


def test_bad_model_and_data_are_named():
    model, X, y = problem()
    args = {"mode": "float32", "lr": 0.1, "steps": 1}
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        train_in_precision(lambda x: x, X, y, **args)
    with pytest.raises(TypeError, match="inputs must be a floating-point"):
        train_in_precision(model, X.numpy(), y, **args)
    with pytest.raises(TypeError, match="targets must be a floating-point"):
        train_in_precision(model, X, y.long(), **args)
    with pytest.raises(ValueError, match="as many rows, got 64 and 63"):
        train_in_precision(model, X, y[:-1], **args)

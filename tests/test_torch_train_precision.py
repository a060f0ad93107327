"""gdbook.torch.train(precision=...): mixed precision under torch.autocast,
float16 with GradScaler's loss scaling, equal to the hand-written torch.amp
loop, checkpointed with its scale and resumed bit-identically."""

import copy

import pytest

torch = pytest.importorskip("torch")

from test_torch_optim import one_thread  # noqa: E402, F401  (an autouse fixture)
from torch import nn  # noqa: E402

import gdbook.torch as gt  # noqa: E402

MSE = nn.MSELoss()


def problem(scale=1.0):
    generator = torch.Generator().manual_seed(1)
    X = torch.randn(64, 4, generator=generator)
    y = torch.tanh(X @ torch.tensor([1.0, -2.0, 0.5, 3.0]) / 3)
    return X, scale * y[:, None]


def network():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))


def weights(model):
    return torch.cat([p.detach().ravel() for p in model.parameters()])


def test_bfloat16_autocast_runs_the_forward_in_16_bits_keeps_float32_weights():
    seen = []
    model = network()
    model[0].register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    mixed = gt.train(
        model, MSE, problem(), opt, 20, precision="mixed-bfloat16"
    )
    assert set(seen[-20:]) == {torch.bfloat16}  # the 20 training passes
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(
        s["momentum_buffer"] is None
        or s["momentum_buffer"].dtype == torch.float32
        for s in opt.state.values()
    )
    reference = network()
    plain = gt.train(
        reference,
        MSE,
        problem(),
        torch.optim.SGD(reference.parameters(), lr=0.1),
        20,
    )
    # the same run to bfloat16's few digits, and not the same bits
    assert mixed["loss"] == pytest.approx(plain["loss"], rel=0.03)
    assert mixed["loss"] != plain["loss"]


def test_float16_equals_the_hand_written_torch_amp_loop_with_clipping():
    X, y = problem()
    model = network()
    ours = gt.train(
        model,
        MSE,
        (X, y),
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        6,
        precision="mixed-float16",
        clip_norm=0.5,
        shuffle=False,
    )
    theirs = network()
    opt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu")
    losses = []
    for _ in range(6):
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.float16):
            loss = MSE(theirs(X), y)
        losses.append(loss.item())
        scaler.scale(loss * 1.0).backward()
        scaler.unscale_(opt)  # clip the true gradient, not the scaled one
        torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.5)
        scaler.step(opt)
        scaler.update()
    assert torch.equal(weights(model), weights(theirs))
    assert ours["loss"] == losses


def float16_run(epochs, path=None):
    # targets of size 300: the scaled gradients overflow float16 at the
    # first scales, so GradScaler skips steps and halves its scale
    model = network()
    opt = gt.Adam(model.parameters(), lr=0.01)
    history = gt.train(
        model,
        MSE,
        problem(scale=300.0),
        opt,
        epochs,
        batch_size=16,
        checkpoint=path,
        precision="mixed-float16",
    )
    return model, history


def test_float16_run_checkpoints_its_scale_and_resumes_bit_identically(
    tmp_path,
):
    path = tmp_path / "run.pt"
    model, history = float16_run(6)
    float16_run(3, path)
    saved = torch.load(path, weights_only=True)
    assert saved["scaler"]["scale"] < 2.0**16  # steps were skipped
    resumed, resumed_history = float16_run(6, path)
    assert resumed_history == history
    assert torch.equal(weights(resumed), weights(model))


def test_a_float16_checkpoint_is_not_resumed_in_another_precision(tmp_path):
    path = tmp_path / "run.pt"
    float16_run(2, path)
    model = network()
    with pytest.raises(
        gt.CheckpointError,
        match="precision is .mixed-float16. in the checkpoint",
    ):
        gt.train(
            model,
            MSE,
            problem(scale=300.0),
            gt.Adam(model.parameters(), lr=0.01),
            4,
            batch_size=16,
            checkpoint=path,
        )


@pytest.mark.parametrize("precision", ["bfloat16", "fp16", None, 16])
def test_an_unknown_precision_is_refused_before_training(precision):
    model = network()
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(ValueError, match="precision must be one of"):
        gt.train(
            model,
            MSE,
            problem(),
            torch.optim.SGD(model.parameters(), lr=0.1),
            2,
            precision=precision,
        )
    assert all(
        torch.equal(before[k], v) for k, v in model.state_dict().items()
    )

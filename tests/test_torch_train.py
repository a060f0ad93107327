"""gdbook.torch.train: history, progress bar, divergence, argument checks, and
checkpoints that survive SIGKILL, are locked by their run and refuse another
run."""

import io
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_torch_optim import one_thread  # noqa: E402, F401  (an autouse fixture)
from torch import nn  # noqa: E402
from tqdm import tqdm  # noqa: E402

import gdbook.torch as gt  # noqa: E402
from gdbook.torch import checkpoint, rng, training  # noqa: E402

EPOCHS, BATCH = 8, 16
MSE = nn.MSELoss()  # run()'s default loss function, one instance for all runs


def problem():
    generator = torch.Generator().manual_seed(1)
    X = torch.randn(96, 4, generator=generator)
    return X, torch.tanh(X @ torch.tensor([1.0, -2.0, 0.5, 3.0]) / 3)


def setup(optimizer=gt.Adam, hidden=16, scheduler=True, lr=0.02):
    """A fresh model (with dropout, so the run draws from torch's RNG),
    optimizer and scheduler."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, hidden),
        nn.Tanh(),
        nn.Dropout(0.1),
        nn.Linear(hidden, 1),
        nn.Flatten(0),
    )
    opt = optimizer(model.parameters(), lr=lr)
    return (
        model,
        opt,
        torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        if scheduler
        else None,
    )


def run(
    epochs=EPOCHS,
    path=None,
    optimizer=gt.Adam,
    loss_fn=MSE,
    data=None,
    batch_size=BATCH,
    **kwargs,
):
    model, opt, scheduler = setup(optimizer, **kwargs)
    history = gt.train(
        model,
        loss_fn,
        data or problem(),
        opt,
        epochs,
        batch_size=batch_size,
        scheduler=scheduler,
        checkpoint=path,
    )
    return model, history


def assert_same(a, b):
    (model_a, history_a), (model_b, history_b) = a, b
    assert history_a == history_b
    for (name, x), y in zip(
        model_a.state_dict().items(),
        model_b.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(x, y), name


def test_history_and_learning():
    model, history = run()
    assert history["epoch"] == list(range(1, EPOCHS + 1))
    assert history["lr"] == [0.02 * 0.5 ** (e // 3) for e in range(EPOCHS)]
    assert history["loss"][-1] < 0.3 * history["loss"][0]


def test_default_batch_is_the_full_data_set():
    model, opt, _ = setup()
    gt.train(model, nn.MSELoss(), problem(), opt, epochs=3)
    assert float(opt.state[model[0].weight]["step"]) == 3


@pytest.mark.parametrize(
    "optimizer", [gt.Adam, gt.FlatAdam, gt.SGD], ids=lambda c: c.__name__
)
def test_stopped_and_resumed_run_equals_an_uninterrupted_one(
    tmp_path, optimizer
):
    expected = run(optimizer=optimizer)
    run(3, tmp_path / "run.pt", optimizer=optimizer)
    assert_same(run(path=tmp_path / "run.pt", optimizer=optimizer), expected)


def test_a_crash_between_write_and_rename_leaves_the_previous_checkpoint(
    tmp_path, monkeypatch
):
    path, replace, saves = tmp_path / "run.pt", os.replace, []

    def crash_on_fourth(src, dst):
        saves.append(dst)
        if len(saves) == 4:
            raise KeyboardInterrupt("killed")
        replace(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", crash_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        run(path=path)
    monkeypatch.undo()
    assert [file.name for file in tmp_path.iterdir()] == [
        "run.pt"
    ]  # neither a temporary file nor the lock
    assert len(torch.load(path, weights_only=True)["history"]["epoch"]) == 3
    assert_same(run(path=path), run())


CHILD = """
import sys
import torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[2])
import test_torch_train as t
t.run(t.LONG, sys.argv[1], optimizer=t.gt.FlatAdam)
"""
LONG = 30  # epochs of the run that is killed


def epochs_saved(path):
    return (
        len(torch.load(path, weights_only=True)["history"]["epoch"])
        if path.exists()
        else 0
    )


def test_a_run_killed_at_any_moment_resumes_bit_identically(tmp_path):
    """SIGKILL a training process at a random moment after its second
    checkpoint (mid-epoch or mid-save), resume the run: it ends bit-identical
    to a run never interrupted. While it runs, the same run started beside it
    fails at once."""
    path = tmp_path / "run.pt"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(Path(__file__).parent)]
    )
    try:
        while epochs_saved(path) < 2:
            assert child.poll() is None, (
                f"the training process exited early with {child.returncode}"
            )
            time.sleep(0.005)
        with pytest.raises(
            checkpoint.CheckpointError,
            match=rf"{path}: in use by another run \(pid {child.pid}\)",
        ):
            run(LONG, path, optimizer=gt.FlatAdam)
        time.sleep(random.uniform(0.0, 0.05))
    finally:
        child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    assert 2 <= epochs_saved(path) < LONG, "killed midway"
    assert_same(
        run(LONG, path, optimizer=gt.FlatAdam),
        run(LONG, optimizer=gt.FlatAdam),
    )


def corrupt(path):
    """Ways a checkpoint file can be broken, each applied to a good one at
    ``path``."""
    good = path.read_bytes()
    return {
        "truncated": lambda: path.write_bytes(good[: len(good) // 2]),
        "garbage": lambda: path.write_bytes(b"\x00not a checkpoint" * 10),
        "foreign": lambda: torch.save({"weights": torch.zeros(3)}, path),
        "version": lambda: torch.save(
            {**torch.load(path, weights_only=True), "version": 999}, path
        ),
    }


@pytest.mark.parametrize(
    "kind, message",
    [
        ("truncated", "cannot be read"),
        ("garbage", "cannot be read"),
        ("foreign", "not a gdbook checkpoint"),
        ("version", "version 999"),
    ],
)
def test_a_corrupt_checkpoint_is_an_error_not_a_restart(
    tmp_path, kind, message
):
    path = tmp_path / "run.pt"
    run(2, path)
    corrupt(path)[kind]()
    broken = path.read_bytes()
    with pytest.raises(
        checkpoint.CheckpointError, match=f"{path.name}.*{message}"
    ):
        run(path=path)
    assert path.read_bytes() == broken


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(hidden=8), "model"),
        (dict(optimizer=gt.SGD), "optimizer"),
        (dict(batch_size=8), "batch_size"),
        (dict(data=(torch.zeros(50, 4), torch.zeros(50))), "data"),
        (dict(scheduler=False), "scheduler"),
        (
            dict(data=(problem()[0], problem()[1] + 1)),
            r"data entry 1 is \(\(96,\), 'torch.float32', 'sha256:\w+'\) in "
            r"the checkpoint but",
        ),
        (
            dict(loss_fn=nn.MSELoss(reduction="sum")),
            r"loss is \"MSELoss\(reduction='mean'\)\" in the checkpoint but "
            r"\"MSELoss\(reduction='sum'\)\" in this",
        ),
        (dict(loss_fn=nn.L1Loss()), r"but \"L1Loss\(reduction='mean'\)\""),
        (dict(epochs=1), "past epochs=1"),
        (dict(lr=0.05), r"hyperparameters .*'lr', 0.02\) in the checkpoint"),
    ],
)
def test_a_checkpoint_of_another_run_is_refused(tmp_path, change, message):
    run(2, tmp_path / "run.pt")
    with pytest.raises(checkpoint.CheckpointError, match=message):
        run(path=tmp_path / "run.pt", **change)


def test_the_fingerprint_names_a_loss_function_by_its_qualified_name():
    def half_mse(out, y):
        return nn.functional.mse_loss(out, y) / 2

    model, opt, _ = setup()
    loss = training.fingerprint(
        model, half_mse, opt, None, problem(), BATCH, True, 0
    )["loss"]
    assert (
        loss
        == "test_the_fingerprint_names_a_loss_function_by_its_qualified_name"
        ".<locals>.half_mse"
    )


def test_a_stale_temporary_file_is_removed(tmp_path):
    run(3, tmp_path / "run.pt")
    (tmp_path / "run.pt.x1y2z3_4.tmp").write_bytes(
        b"half a checkpoint, left by a killed run"
    )
    assert_same(run(path=tmp_path / "run.pt"), run())
    assert [file.name for file in tmp_path.iterdir()] == ["run.pt"]


def test_a_run_on_a_locked_checkpoint_fails_at_once(tmp_path):
    path = tmp_path / "run.pt"
    with checkpoint.lock(path):
        with pytest.raises(
            checkpoint.CheckpointError,
            match=rf"{path}: in use by another run \(pid {os.getpid()}\)",
        ):
            run(path=path)
    assert not path.exists()


def linear_setup():
    """Least squares by a linear model; full-batch GD at lr = 1.5 (above 2/L)
    grows the loss ~7x an epoch."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 1), nn.Flatten(0))
    return model, gt.SGD(
        [
            {"params": [model[0].weight]},
            {"params": [model[0].bias], "lr": 0.1},
        ],
        lr=1.5,
    )


def test_divergence_stops_keeps_last_good_checkpoint_names_epoch_loss_and_lr(
    tmp_path,
):
    path = tmp_path / "run.pt"
    model, opt = linear_setup()
    message = (
        r"^training diverged: the mean loss is \S+ at epoch \d+, more than "
        r"1e\+06 times the first "
        r"epoch's \S+ \(lr=\[1.5, 0.1\]\); try a smaller learning rate$"
    )
    with pytest.raises(gt.DivergenceError, match=message) as error:
        gt.train(
            model, nn.MSELoss(), problem(), opt, epochs=30, checkpoint=path
        )
    history = error.value.history
    epochs = len(history["epoch"])
    assert isinstance(error.value, FloatingPointError) and 2 < epochs < 30
    assert f"is {history['loss'][-1]:.4g} at epoch {epochs}," in str(
        error.value
    )
    assert (
        history["loss"][-1] > 1e6 * history["loss"][0]
        and history["loss"][-2] < 1e6 * history["loss"][0]
    )
    assert epochs_saved(path) == epochs - 1 and [
        file.name for file in tmp_path.iterdir()
    ] == ["run.pt"]
    model, opt = (
        linear_setup()
    )  # the last good checkpoint resumes, and diverges at the same epoch
    with pytest.raises(gt.DivergenceError, match=f"at epoch {epochs},"):
        gt.train(
            model, nn.MSELoss(), problem(), opt, epochs=30, checkpoint=path
        )


def counting(loss_fn):
    """``loss_fn``, recording each call in the returned list."""
    calls = []

    def counted(*args):
        calls.append(args)
        return loss_fn(*args)

    return counted, calls


@pytest.mark.parametrize("folder", ["missing", "file", "read-only"])
def test_an_unwritable_checkpoint_folder_is_refused_before_training(
    tmp_path, folder
):
    where = tmp_path / folder
    if folder == "file":
        where.write_text("not a folder")
    elif folder == "read-only":
        if os.geteuid() == 0:
            pytest.skip("root writes to read-only folders")
        where.mkdir(mode=0o500)
    loss_fn, calls = counting(nn.MSELoss())
    with pytest.raises(
        OSError,
        match=r"cannot write the checkpoint run.pt in its folder: "
        rf".*'{where}'",
    ):
        run(path=where / "run.pt", loss_fn=loss_fn)
    assert calls == []


def tampered(contents):
    """Ways to change a loaded checkpoint that keep it loadable, each applied
    to ``contents`` in place."""
    return {
        "no model": lambda: contents.pop("model"),
        "model a list": lambda: contents.update(model=[1.0]),
        "model without a weight": lambda: contents["model"].pop("0.weight"),
        "optimizer without param_groups": lambda: contents["optimizer"].pop(
            "param_groups"
        ),
        "rng of a wrong size": lambda: contents["rng"].update(
            torch=torch.zeros(3, dtype=torch.uint8)
        ),
        "history a number": lambda: contents.update(history=3),
        "history short of a loss": lambda: contents["history"]["loss"].pop(),
        "fingerprint a list": lambda: contents.update(fingerprint=[1]),
    }


@pytest.mark.parametrize("kind", list(tampered({})))
def test_a_tampered_checkpoint_is_a_checkpoint_error(tmp_path, kind):
    path = tmp_path / "run.pt"
    run(2, path)
    contents = torch.load(path, weights_only=True)
    tampered(contents)[kind]()
    torch.save(contents, path)
    broken = path.read_bytes()
    loss_fn, calls = counting(nn.MSELoss())
    with pytest.raises(checkpoint.CheckpointError, match=f"{path}: "):
        run(path=path, loss_fn=loss_fn)
    assert path.read_bytes() == broken and calls == []


def test_divergence_is_reported_with_epoch_and_step():
    model, opt, _ = setup(gt.SGD)
    X, y = problem()
    opt.param_groups[0]["lr"] = 1e12
    with pytest.raises(
        gt.DivergenceError, match=r"epoch 1, step \d+ \(lr=1e\+12\)"
    ):
        gt.train(
            model, nn.MSELoss(), (X * 1e3, y), opt, epochs=3, batch_size=BATCH
        )


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        (dict(data=(torch.zeros(5, 4),)), TypeError, "data"),
        (dict(data=(torch.zeros(5, 4), torch.zeros(6))), ValueError, "data"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(epochs=-1), ValueError, "epochs"),
        (dict(model="mlp"), TypeError, "model"),
        (dict(optimizer="adam"), TypeError, "optimizer"),
        (dict(loss_fn=lambda out, y: (out - y) ** 2), ValueError, "loss_fn"),
        (
            dict(optimizer=gt.SGD(nn.Linear(4, 1).parameters(), lr=0.1)),
            ValueError,
            "optimizer holds none of the",
        ),
        (
            dict(data=(torch.zeros(5, 4), torch.zeros(5, 1))),
            ValueError,
            r"data: targets of shape \(2, 1\) and the model's outputs of "
            r"shape \(2,\) \(of the first 2 samples\) "
            r"would broadcast to \(2, 2\)",
        ),
        (dict(checkpoint=3), TypeError, "checkpoint must be a path"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, name):
    model, opt, _ = setup()
    args = dict(
        model=model,
        loss_fn=nn.MSELoss(),
        data=problem(),
        optimizer=opt,
        epochs=2,
    )
    with pytest.raises(error, match=name):
        gt.train(**{**args, **kwargs})


@pytest.mark.parametrize("classes", [2, 3])
def test_class_labels_are_not_a_shape_mismatch(classes):
    """Outputs (n, classes) and labels (n,) differ in shape on purpose: they do
    not broadcast to a matrix."""
    X, y = problem()
    model = nn.Linear(4, classes)
    gt.train(
        model,
        nn.CrossEntropyLoss(),
        (X, (y > 0).long()),
        gt.SGD(model.parameters(), lr=0.1),
        epochs=1,
    )


@pytest.mark.parametrize("progress", [True, False])
def test_progress_bar_only_when_asked(monkeypatch, progress):
    """With progress=True, train leaves ``disable`` to tqdm's default (so
    TQDM_DISABLE=1, set for the test session, would hide it; this test enables
    it in its stead); otherwise it disables the bar."""
    shown = io.StringIO()
    monkeypatch.setattr(
        training,
        "tqdm",
        lambda *args, **kwargs: tqdm(
            *args, **{"disable": False, **kwargs}, file=shown
        ),
    )
    model, opt, _ = setup()
    gt.train(model, nn.MSELoss(), problem(), opt, 2, progress=progress)
    assert ("train: 100%" in shown.getvalue()) == progress


def test_rng_state_restores_every_generator():
    generator = torch.Generator().manual_seed(3)

    def draws():
        return (
            torch.rand(2).tolist(),
            np.random.rand(2).tolist(),
            [random.random() for _ in range(2)],
            torch.rand(2, generator=generator).tolist(),
        )

    state = rng.get_state(generator)
    first = draws()
    rng.set_state(state, generator)
    assert draws() == first


@pytest.mark.gpu
def test_train_and_resume_on_cuda(tmp_path):
    def cuda_run(epochs, path):
        model = setup()[0].cuda()
        opt = gt.FlatAdam(model.parameters(), lr=0.02)
        history = gt.train(
            model,
            nn.MSELoss(),
            problem(),
            opt,
            epochs,
            batch_size=BATCH,
            checkpoint=path,
        )
        return model, history

    model, history = cuda_run(4, tmp_path / "run.pt")
    assert history["loss"][-1] < history["loss"][0]
    assert cuda_run(6, tmp_path / "run.pt")[1]["epoch"] == list(range(1, 7))


def test_gradient_accumulation_equals_one_large_batch():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(96, 4, generator=generator, dtype=torch.float64)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    runs = []
    for batch_size, accumulate in ((32, 1), (8, 4), (5, 7)):
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1, dtype=torch.float64)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        history = gt.train(
            model,
            MSE,
            (X, y[:, None]),
            optimizer,
            epochs=3,
            batch_size=batch_size,
            accumulate=accumulate,
        )
        runs.append(
            (
                history,
                torch.cat([p.detach().ravel() for p in model.parameters()]),
            )
        )
    (large, w_large), (accumulated, w_accumulated), (uneven, w_uneven) = runs
    # 4 micro-batches of 8 are one batch of 32: same steps, same losses
    torch.testing.assert_close(w_accumulated, w_large, rtol=1e-12, atol=0)
    assert accumulated["loss"] == pytest.approx(large["loss"], rel=1e-12)
    # 7 micro-batches of 5 (35 samples, the last group 26) differ
    assert not torch.allclose(w_uneven, w_large)
    with pytest.raises(ValueError, match="accumulate"):
        gt.train(model, MSE, (X, y[:, None]), optimizer, 1, accumulate=0)

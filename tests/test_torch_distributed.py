"""gdbook.torch.distributed: processes joined by torch.distributed (gloo).

The worker functions are defined at module level: processes start by spawn,
which imports this module in each worker to find them.
"""

import itertools
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
import torch.distributed as dist

import gdbook.torch as gt
from gdbook.torch.distributed import (
    WorkerError,
    adam_training,
    all_reduce_seconds,
    data_parallel_sgd,
    from_environment,
    latency_bandwidth_fit,
    launch,
    pipeline_gradients,
)
from gdbook.torch.hogwild import SparseLeastSquares, hogwild

WIDTHS = (16, 16, 16, 16, 16)  # four equal layers: ZeRO can split evenly


def all_reduce_ranks(rank, world_size, offset):
    total = torch.tensor([float(rank + offset)])
    dist.all_reduce(total)
    return rank, total.item()


def fail_before_the_all_reduce(rank, world_size):
    if rank == 1:
        raise ValueError("rank 1 fails on purpose")
    dist.all_reduce(torch.ones(1))  # never completes: rank 1 is gone
    return rank


def sleep_forever(rank, world_size):
    time.sleep(3600)


def least_squares_data():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(256, 8, generator=generator, dtype=torch.float64)
    w = torch.arange(1.0, 9.0, dtype=torch.float64)
    noise = torch.randn(256, generator=generator, dtype=torch.float64)
    return X, X @ w + 0.1 * noise


def ddp_train(rank, world_size, path, epochs, kill_at=None):
    """gdbook's train() on a DDP-wrapped linear model, checkpointing to
    ``path``; with ``kill_at``, rank 1 kills itself (SIGKILL) at its
    ``kill_at``-th forward pass."""
    X, y = least_squares_data()
    torch.manual_seed(0)
    model = torch.nn.Linear(8, 1, dtype=torch.float64)
    if kill_at is not None and rank == 1:
        calls = itertools.count(1)

        def kill(*_):
            if next(calls) == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

        model.register_forward_hook(kill)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = gt.Adam(ddp.parameters(), lr=0.3)
    history = gt.train(
        ddp,
        torch.nn.MSELoss(),
        (X, y[:, None]),
        optimizer,
        epochs,
        batch_size=16,
        checkpoint=path,
    )
    return history, [p.detach().clone() for p in model.parameters()]


def two_stage_mlp():
    """A small MLP in float64 cut into two stages, and a batch of data."""
    torch.manual_seed(0)
    stages = (
        torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh()).double(),
        torch.nn.Sequential(
            torch.nn.Linear(16, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)
        ).double(),
    )
    inputs = torch.randn(32, 8, dtype=torch.float64)
    return stages, inputs, torch.randn(32, 1, dtype=torch.float64)


def suite(rank, world_size, path):
    """Everything the tests below check in one process group (one start-up
    of the processes, the slow part)."""
    X, y = least_squares_data()
    return {
        "train": ddp_train(rank, world_size, path, 4),
        "ranks": all_reduce_ranks(rank, world_size, 10),
        "ddp": data_parallel_sgd(rank, world_size, X, y, 0.1, 40, 64),
        "zero": adam_training(rank, world_size, WIDTHS, 5, sharded=True),
        "all_reduce": all_reduce_seconds(rank, world_size, [256, 2**20], 5),
        "pipeline": pipeline_gradients(
            rank, world_size, *two_stage_mlp(), micro=4
        ),
    }


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    path = tmp_path_factory.mktemp("ddp") / "uninterrupted.pt"
    return launch(suite, 2, path, timeout=120)


def test_every_rank_runs_and_the_group_communicates(two_ranks):
    # ranks 0 and 1 contribute 10 and 11: each sees the sum 21
    assert [r["ranks"] for r in two_ranks] == [(0, 21.0), (1, 21.0)]


def test_data_parallel_sgd_equals_large_batch_sgd(two_ranks):
    X, y = least_squares_data()
    w = torch.zeros(8, dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    for _ in range(40):  # the same global batches, in one process
        rows = torch.randperm(len(X), generator=generator)[:64]
        w = w - 0.1 * X[rows].T @ (X[rows] @ w - y[rows]) / 64
    for result in two_ranks:
        torch.testing.assert_close(result["ddp"], w, rtol=1e-12, atol=0)
    assert torch.linalg.vector_norm(w - torch.arange(1.0, 9.0)) < 1.0


def test_zero_sharded_adam_equals_adam_with_half_the_state_per_rank(
    two_ranks,
):
    plain, plain_bytes = adam_training(0, 1, WIDTHS, 5, sharded=False)
    for result in two_ranks:
        flat, state_bytes = result["zero"]
        torch.testing.assert_close(flat, plain, rtol=1e-12, atol=0)
        # Adam holds two copies of the parameters (exp_avg, exp_avg_sq)
        assert abs(state_bytes - plain_bytes / 2) < 0.01 * plain_bytes
    assert plain_bytes >= 2 * plain.numel() * 8


def test_a_ddp_run_killed_and_resumed_equals_the_uninterrupted_run(
    two_ranks, tmp_path
):
    path = tmp_path / "run.pt"
    # 256 samples, 2 ranks, batches of 16: 8 steps an epoch; rank 1 dies in
    # epoch 3, after rank 0 has written the checkpoint of epoch 2
    with pytest.raises(WorkerError, match=r"(?s)rank 1 failed.*signal 9"):
        launch(ddp_train, 2, path, 4, 8 * 2 + 3, timeout=60)
    saved = torch.load(path, weights_only=False)
    assert saved["history"]["epoch"] == [1, 2]
    resumed = launch(ddp_train, 2, path, 4)
    for (history, params), (expected, expected_params) in zip(
        resumed, [r["train"] for r in two_ranks], strict=True
    ):
        assert history == expected and history["epoch"] == [1, 2, 3, 4]
        for p, q in zip(params, expected_params, strict=True):
            assert torch.equal(p, q)
    losses = resumed[0][0]["loss"]
    assert losses[-1] < 0.5 * losses[0]


def test_only_rank_0_writes_the_checkpoint(two_ranks, tmp_path_factory):
    # both ranks returned the same history; one file, no leftovers
    folder = tmp_path_factory.getbasetemp() / "ddp0"
    assert sorted(p.name for p in folder.iterdir()) == ["uninterrupted.pt"]
    assert two_ranks[0]["train"][0] == two_ranks[1]["train"][0]


def test_a_two_process_pipeline_computes_the_whole_models_gradients(
    two_ranks,
):
    stages, inputs, targets = two_stage_mlp()
    whole = torch.nn.Sequential(*stages[0], *stages[1])
    (whole(inputs) - targets).square().mean().backward()
    pipelined = two_ranks[0]["pipeline"] + two_ranks[1]["pipeline"]
    assert len(pipelined) == len(list(whole.parameters())) == 6
    for got, want in zip(pipelined, whole.parameters(), strict=True):
        torch.testing.assert_close(got, want.grad, rtol=1e-12, atol=1e-15)


def test_a_pipeline_needs_one_stage_per_rank():
    stages, inputs, targets = two_stage_mlp()
    with pytest.raises(ValueError, match="one stage per rank"):
        pipeline_gradients(0, 3, stages, inputs, targets)


def test_all_reduce_times_fit_the_latency_bandwidth_model(two_ranks):
    seconds = two_ranks[0]["all_reduce"]
    assert all(0 < t < 1 for t in seconds)
    alpha, beta = latency_bandwidth_fit([4 * 256, 4 * 2**20], seconds)
    assert alpha + 4 * 256 / beta == pytest.approx(seconds[0])


def test_latency_bandwidth_fit_recovers_a_known_line():
    nbytes = [1e3, 1e5, 1e7]
    seconds = [1e-4 + n / 2e9 for n in nbytes]
    alpha, beta = latency_bandwidth_fit(nbytes, seconds)
    assert alpha == pytest.approx(1e-4) and beta == pytest.approx(2e9)
    with pytest.raises(ValueError, match="do not grow with the message"):
        latency_bandwidth_fit([1e3, 1e5], [2e-4, 1e-4])
    with pytest.raises(ValueError, match="at least 2 measurements"):
        latency_bandwidth_fit([1e3], [1e-4])


def test_hogwild_with_two_workers_reaches_the_serial_loss():
    problem = SparseLeastSquares.random(4000, 500, 5, seed=0)
    serial = hogwild(problem, 1, epochs=3, lr=0.05)
    parallel = hogwild(problem, 2, epochs=3, lr=0.05)
    initial = problem.loss(np.zeros(problem.dim))
    assert serial.loss < 1e-3 * initial
    # lock-free updates cost little on a sparse problem: within 50 %
    assert parallel.loss < 1.5 * serial.loss
    assert parallel.updates == serial.updates == 3 * 4000
    assert 0 <= parallel.overlap_rate < 0.05 and serial.overlaps == 0


def test_a_failing_rank_is_named_with_its_traceback():
    start = time.monotonic()
    with pytest.raises(WorkerError) as raised:
        launch(fail_before_the_all_reduce, 2, timeout=60)
    message = str(raised.value)
    assert message.startswith("rank 1 failed")
    assert "ValueError: rank 1 fails on purpose" in message
    assert "fail_before_the_all_reduce" in message  # the traceback
    # rank 0, stuck in the all-reduce, is given up within the grace period
    assert time.monotonic() - start < 30


def test_a_hung_worker_is_killed_after_the_timeout():
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"rank\(s\) \[0\] did not finish"):
        launch(sleep_forever, 1, timeout=2)
    assert time.monotonic() - start < 20


@pytest.mark.parametrize(
    ("world_size", "error", "message"),
    [
        (0, ValueError, "world_size must be >= 1, got 0"),
        (2.0, TypeError, "world_size must be an int"),
        (True, TypeError, "world_size must be an int"),
    ],
)
def test_bad_world_size_is_refused(world_size, error, message):
    with pytest.raises(error, match=message):
        launch(all_reduce_ranks, world_size, 0)


def test_a_function_spawn_cannot_send_is_refused_before_starting():
    start = time.monotonic()
    with pytest.raises(ValueError, match="fn must be picklable"):
        launch(lambda rank, world_size: rank, 2)
    assert time.monotonic() - start < 1  # no process was started


def test_a_port_in_use_is_refused():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ValueError, match=f"port {port} is in use"):
            launch(all_reduce_ranks, 2, 0, port=port)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": 70000}, "port must be None or in 1..65535"),
        ({"timeout": 0}, "timeout must be > 0"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        launch(all_reduce_ranks, 2, 0, **options)


def test_from_environment_needs_torchrun():
    names = ("RANK", "WORLD_SIZE")
    saved = {
        name: os.environ.pop(name) for name in names if name in os.environ
    }
    try:
        with pytest.raises(
            RuntimeError, match="start the script with torchrun"
        ):
            from_environment(all_reduce_ranks, 0)
    finally:
        os.environ.update(saved)


def test_the_same_function_runs_under_torchrun(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {os.path.dirname(__file__)!r})
            from gdbook.torch.distributed import from_environment
            from test_torch_distributed import all_reduce_ranks

            if __name__ == "__main__":
                rank, total = from_environment(all_reduce_ranks, 10)
                # one file per rank: two processes printing to one pipe can
                # interleave their writes
                with open({str(tmp_path)!r} + f"/rank{{rank}}.txt", "w") as f:
                    f.write(f"result {{rank}} {{total}}")
            """
        )
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node=2",
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = sorted(p.read_text() for p in tmp_path.glob("rank*.txt"))
    assert results == ["result 0 21.0", "result 1 21.0"]

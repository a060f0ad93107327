"""gdbook.torch.distributed: processes joined by torch.distributed (gloo).

The worker functions are defined at module level: processes start by spawn,
which imports this module in each worker to find them.
"""

import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest
import torch
import torch.distributed as dist

from gdbook.torch.distributed import WorkerError, from_environment, launch


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


def test_every_rank_runs_and_the_group_communicates():
    # ranks 0 and 1 contribute 10 and 11: each sees the sum 21
    assert launch(all_reduce_ranks, 2, 10) == [(0, 21.0), (1, 21.0)]


def test_a_failing_rank_is_named_with_its_traceback():
    start = time.monotonic()
    with pytest.raises(WorkerError) as raised:
        launch(fail_before_the_all_reduce, 2, timeout=60)
    message = str(raised.value)
    assert message.startswith("rank 1 raised")
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
                print("result", *from_environment(all_reduce_ranks, 10))
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
    results = sorted(
        line for line in run.stdout.splitlines() if line.startswith("result")
    )
    assert results == ["result 0 21.0", "result 1 21.0"]

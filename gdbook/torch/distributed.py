"""Several processes, one training run: helpers over ``torch.distributed``.

:func:`launch` runs ``fn(rank, world_size, *args)`` in ``world_size`` local
processes joined in one gloo process group (the CPU backend; NCCL is the GPU
one), the way ``torchrun`` would, and returns each rank's result. The same
``fn`` runs under ``torchrun`` through :func:`from_environment`::

    # train.py
    from gdbook.torch.distributed import from_environment
    from mypackage import fn

    if __name__ == "__main__":
        from_environment(fn)

    torchrun --standalone --nproc-per-node=2 train.py          # one machine
    torchrun --nnodes=2 --node-rank=0 --master-addr=HOST \\
        --master-port=29500 --nproc-per-node=8 train.py        # on node 0,
                                                               # node 1 alike

Processes start by ``spawn``, which pickles ``fn`` by reference: it must be a
function importable from a module (not one defined in a notebook cell).
"""

from __future__ import annotations

import datetime
import os
import pickle
import queue
import time
import traceback

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

HOST = "127.0.0.1"


class WorkerError(RuntimeError):
    """A worker process raised; the message holds its rank and traceback."""


def _worker(fn, rank, world_size, port, timeout, args, results):
    """Join the process group through the parent's store, run ``fn``, and
    report ("ok", result) or ("error", traceback) for this rank."""
    try:
        store = dist.TCPStore(
            HOST,
            port,
            world_size,
            is_master=False,
            timeout=datetime.timedelta(seconds=timeout),
        )
        dist.init_process_group(
            "gloo",
            store=store,
            rank=rank,
            world_size=world_size,
            timeout=datetime.timedelta(seconds=timeout),
        )
        torch.set_num_threads(1)  # one core per worker, as torchrun does
        outcome = ("ok", fn(rank, world_size, *args))
    except BaseException:  # reported to the parent, which raises it
        outcome = ("error", traceback.format_exc())
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    # pickled here, by value: a tensor sent through the queue as is would be
    # shared memory that vanishes when this process exits
    results.put((rank, pickle.dumps(outcome)))


def _check_launch(fn, world_size, port, timeout):
    if isinstance(world_size, bool) or not isinstance(world_size, int):
        raise TypeError(f"world_size must be an int, got {world_size!r}")
    if world_size < 1:
        raise ValueError(f"world_size must be >= 1, got {world_size}")
    if port is not None and not (isinstance(port, int) and 0 < port < 65536):
        raise ValueError(f"port must be None or in 1..65535, got {port!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout!r}")
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {fn!r}")
    try:
        pickle.dumps(fn)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ValueError(
            f"fn must be picklable, i.e. a function importable from a module "
            f"(processes start by spawn, which pickles functions by "
            f"reference); got {fn!r}: {error}"
        ) from None


def _store(port, world_size, timeout):
    """The parent's TCPStore server; port None lets the OS pick a free one
    (held open from here on, so no other process can take it)."""
    try:
        return dist.TCPStore(
            HOST,
            0 if port is None else port,
            world_size,
            is_master=True,
            wait_for_workers=False,
            timeout=datetime.timedelta(seconds=timeout),
        )
    except dist.DistNetworkError as error:
        raise ValueError(
            f"port {port} is in use on {HOST}; pass port=None to pick a "
            f"free one ({error})"
        ) from None


def launch(fn, world_size: int, *args, port=None, timeout: float = 120.0):
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` processes.

    The processes form one gloo process group on 127.0.0.1 (rendezvous
    through a TCPStore that this process serves). Returns the list of the
    ranks' return values, rank 0 first. A worker that raises makes
    :class:`WorkerError` carry its rank and traceback; workers still running
    after ``timeout`` seconds are killed and :class:`TimeoutError` names
    them. ``args`` and the results must be picklable.
    """
    _check_launch(fn, world_size, port, timeout)
    store = _store(port, world_size, timeout)
    context = mp.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(
            target=_worker,
            args=(fn, rank, world_size, store.port, timeout, args, results),
            daemon=True,
        )
        for rank in range(world_size)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = _collect(results, workers, timeout)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
            worker.join()
    # in order of arrival: the first failure is the cause, later ones are
    # usually its consequence (a collective whose peer has gone)
    failed = [r for r, (kind, _) in outcomes.items() if kind != "ok"]
    if failed:
        rank, others = failed[0], failed[1:]
        after = f" (then rank(s) {others} failed too)" if others else ""
        raise WorkerError(f"rank {rank} raised{after}:\n{outcomes[rank][1]}")
    return [outcomes[rank][1] for rank in range(world_size)]


def _collect(results, workers, timeout, grace=3.0):
    """Each rank's (kind, value), waiting at most ``timeout`` seconds.

    A worker that died without reporting counts as an error. Once a rank
    has failed, the others get ``grace`` seconds more (they may be blocked
    in a collective that will never complete) before they are given up.
    """
    outcomes = {}
    deadline = time.monotonic() + timeout
    while len(outcomes) < len(workers):
        if time.monotonic() >= deadline:
            if any(kind != "ok" for kind, _ in outcomes.values()):
                return outcomes
            missing = [r for r in range(len(workers)) if r not in outcomes]
            raise TimeoutError(
                f"rank(s) {missing} did not finish within {timeout} s "
                f"and were killed"
            )
        try:
            rank, outcome = results.get(
                timeout=max(0.0, min(deadline - time.monotonic(), 0.5))
            )
            outcomes[rank] = pickle.loads(outcome)
        except queue.Empty:
            for rank, worker in enumerate(workers):
                if rank not in outcomes and worker.exitcode not in (None, 0):
                    outcomes[rank] = (
                        "error",
                        f"the process exited with code {worker.exitcode} "
                        f"before reporting",
                    )
        if any(kind != "ok" for kind, _ in outcomes.values()):
            deadline = min(deadline, time.monotonic() + grace)
    return outcomes


def from_environment(fn, *args, backend: str | None = None):
    """Run ``fn(rank, world_size, *args)`` in a process started by torchrun.

    Reads RANK and WORLD_SIZE (and MASTER_ADDR/MASTER_PORT) that torchrun
    sets, joins the process group (gloo on CPU, NCCL where CUDA is
    available, unless ``backend`` says), runs ``fn`` and leaves the group.
    """
    missing = [v for v in ("RANK", "WORLD_SIZE") if v not in os.environ]
    if missing:
        raise RuntimeError(
            f"from_environment needs {missing} in the environment: start "
            f"the script with torchrun"
        )
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, init_method="env://")
    try:
        return fn(dist.get_rank(), dist.get_world_size(), *args)
    finally:
        dist.destroy_process_group()

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
import signal
import time
import traceback

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from .. import _validate

HOST = "127.0.0.1"


class WorkerError(RuntimeError):
    """A worker process raised; the message holds its rank and traceback."""


def _worker(fn, rank, world_size, port, timeout, args, results):
    """Join the process group through the parent's store, run ``fn``, and
    report ("ok", result, time) or ("error", traceback, time) for this rank
    (the time tells the parent which failure came first)."""
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
        outcome = ("ok", fn(rank, world_size, *args), time.time())
    except BaseException:  # reported to the parent, which raises it
        outcome = ("error", traceback.format_exc(), time.time())
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
    _validate.spawnable(fn)


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
    ranks' return values, rank 0 first. A worker that raises, or dies, makes
    :class:`WorkerError` carry its rank and traceback (or how it died), the
    first failure first; workers still running after ``timeout`` seconds are
    killed and :class:`TimeoutError` names them. ``args`` and the results
    must be picklable.
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
    # in order of time: the first failure is the cause, later ones are
    # usually its consequence (a collective whose peer has gone)
    failed = sorted(
        (r for r, (kind, *_) in outcomes.items() if kind != "ok"),
        key=lambda r: outcomes[r][2],
    )
    if failed:
        rank, others = failed[0], failed[1:]
        after = f" (then rank(s) {others} failed too)" if others else ""
        raise WorkerError(f"rank {rank} failed{after}:\n{outcomes[rank][1]}")
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
            if any(kind != "ok" for kind, *_ in outcomes.values()):
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
                    # a process that died without a word (killed, crashed)
                    # is taken as the first failure (time 0): the others'
                    # errors are its consequence, their collectives having
                    # lost a peer
                    outcomes[rank] = ("error", _death(worker.exitcode), 0.0)
        if any(kind != "ok" for kind, *_ in outcomes.values()):
            deadline = min(deadline, time.monotonic() + grace)
    return outcomes


def _death(exitcode: int) -> str:
    """How a process that never reported ended, in words."""
    if exitcode < 0:
        name = signal.Signals(-exitcode).name
        return f"the process was killed by signal {-exitcode} ({name})"
    return f"the process exited with code {exitcode} before reporting"


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


def shard(n: int, rank: int, world_size: int) -> slice:
    """Rank ``rank``'s contiguous share of ``n`` items (``n`` divisible by
    ``world_size``, so every shard has the same size and the average of the
    shards' mean gradients is the mean gradient over all ``n``)."""
    if n % world_size:
        raise ValueError(
            f"the global batch ({n}) must divide evenly among "
            f"{world_size} ranks"
        )
    size = n // world_size
    return slice(rank * size, (rank + 1) * size)


def data_parallel_sgd(rank, world_size, X, y, lr, steps, batch, seed=0):
    """Least squares by SGD with ``DistributedDataParallel``: each step draws
    one global batch of ``batch`` rows (the same on every rank, from a
    generator seeded with ``seed``), each rank takes its shard, and DDP
    averages the gradients. Returns the final weights (float64).

    The mean of the shards' mean gradients is the mean gradient of the global
    batch, so this equals single-process SGD on the same batches (to float64
    round-off: the sums are added in another order)."""
    model = torch.nn.Linear(X.shape[1], 1, bias=False, dtype=torch.float64)
    torch.nn.init.zeros_(model.weight)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    mine = shard(batch, rank, world_size)
    for _ in range(steps):
        rows = torch.randperm(len(X), generator=generator)[:batch][mine]
        optimizer.zero_grad()
        residual = ddp(X[rows]).squeeze(1) - y[rows]
        (0.5 * residual.pow(2).mean()).backward()
        optimizer.step()
    return model.weight.detach().reshape(-1).clone()


def adam_training(rank, world_size, widths, steps, sharded, seed=0):
    """Train an MLP of layer ``widths`` with gdbook's Adam on fixed data,
    the optimizer state ``sharded`` across the ranks by
    ``torch.distributed.optim.ZeroRedundancyOptimizer`` (ZeRO stage 1) or
    not. Returns (the final parameters as one vector, the bytes of optimizer
    state this rank holds). Unsharded, it needs no process group."""
    from torch.distributed.optim import ZeroRedundancyOptimizer

    from .optim import Adam

    torch.manual_seed(seed)
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.Tanh()]
    model = torch.nn.Sequential(*layers[:-1]).double()
    if sharded:
        optimizer = ZeroRedundancyOptimizer(
            model.parameters(), optimizer_class=Adam, lr=1e-2
        )
        local = optimizer.optim
    else:
        optimizer = local = Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(seed + 1)
    X = torch.randn(64, widths[0], generator=generator, dtype=torch.float64)
    y = torch.randn(64, widths[-1], generator=generator, dtype=torch.float64)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
    state_bytes = sum(
        value.numel() * value.element_size()
        for state in local.state.values()
        for value in state.values()
        if torch.is_tensor(value)
    )
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return flat, state_bytes


def pipeline_gradients(rank, world_size, stages, inputs, targets, micro=1):
    """Pipeline parallelism: rank r holds ``stages[r]``, one consecutive
    piece of a model (``len(stages) == world_size``), and returns the
    gradients of that piece's parameters under the mean squared error of
    the whole model on (``inputs``, ``targets``).

    The batch is cut into ``micro`` equal micro-batches (GPipe, Huang et al.
    2019). For each, the activations travel forward from rank to rank by
    ``send``/``recv`` (each a 2-D tensor, its shape sent first), the last rank
    computes the loss (divided by ``micro``) and the gradients with respect to
    the activations travel back; each rank accumulates its own gradients.
    Only what crosses a boundary is exchanged, so the gradients equal those of
    the whole model on the whole batch (to round-off). The micro-batches run
    one after another here; a real pipeline overlaps them."""
    if len(stages) != world_size:
        raise ValueError(
            f"stages must hold one stage per rank ({world_size}), got "
            f"{len(stages)}"
        )
    stage = stages[rank]
    first, last = rank == 0, rank == world_size - 1
    chunks = zip(inputs.chunk(micro), targets.chunk(micro), strict=True)
    for x, y in chunks:
        if not first:
            shape = torch.empty(2, dtype=torch.int64)
            dist.recv(shape, src=rank - 1)
            x = torch.empty(*shape.tolist(), dtype=inputs.dtype)
            dist.recv(x, src=rank - 1)
            x.requires_grad_()
        out = stage(x)
        if last:
            ((out - y).square().mean() / micro).backward()
        else:
            dist.send(torch.tensor(out.shape), dst=rank + 1)
            dist.send(out.detach().contiguous(), dst=rank + 1)
            grad = torch.empty_like(out)
            dist.recv(grad, src=rank + 1)
            out.backward(grad)
        if not first:
            dist.send(x.grad, dst=rank - 1)
    return [p.grad for p in stage.parameters()]


def all_reduce_seconds(rank, world_size, sizes, repeats=20):
    """The median wall time of an all-reduce (sum) of ``n`` float32 values,
    for each ``n`` in ``sizes``, as rank 0 measures it."""
    times = []
    for n in sizes:
        tensor = torch.ones(int(n), dtype=torch.float32)
        dist.all_reduce(tensor)  # warm-up: connections, buffers
        samples = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(tensor)
            samples.append(time.perf_counter() - start)
        times.append(sorted(samples)[len(samples) // 2])
    return times


def latency_bandwidth_fit(nbytes, seconds) -> tuple[float, float]:
    """Least-squares fit of t = alpha + n / beta to measured times: returns
    (alpha, the latency in seconds; beta, the bandwidth in bytes/s).

    The model is Hockney's (1994), the usual first model of a message's
    cost; an all-reduce of n bytes over p ranks moves about 2 (p - 1) / p n
    bytes per rank in a ring (Patarasuk & Yuan 2009)."""
    nbytes = np.asarray(nbytes, dtype=float)
    seconds = np.asarray(seconds, dtype=float)
    if nbytes.shape != seconds.shape or nbytes.size < 2:
        raise ValueError(
            "nbytes and seconds must be equal-length sequences of at least "
            f"2 measurements, got {nbytes.shape} and {seconds.shape}"
        )
    design = np.column_stack([np.ones_like(nbytes), nbytes])
    (alpha, inverse_beta), *_ = np.linalg.lstsq(design, seconds, rcond=None)
    if inverse_beta <= 0:
        raise ValueError(
            "the times do not grow with the message size: no bandwidth "
            "can be fitted (measure larger messages)"
        )
    return float(alpha), float(1 / inverse_beta)

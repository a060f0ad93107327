"""Training on data larger than memory: least-squares SGD streamed from disk,
and the peak memory of a run, measured.

:func:`least_squares_sgd` runs mini-batch SGD on f(w) = 1/(2n) ||X w - y||^2
over a :class:`~gdbook.data.DiskDataset`, in the batches of
:func:`gdbook.data.minibatches`, reading them in one of three ways:

``"stream"``  each batch's rows are copied from the files by positional
              reads into one small buffer: the process holds a batch, never
              the file (the operating system's page cache may keep the file,
              but that memory is the system's, not the process's);
``"memmap"``  through the data set's memory maps
              (:meth:`~gdbook.data.DiskDataset.minibatches`): the pages a batch
              touches are mapped into the process and count as resident until
              the system needs them back;
``"memory"``  the whole file loaded first (``numpy.load``), the usual way.

The three do the same arithmetic on the same numbers, so their results agree
to the last bit; what differs is the memory they hold, which
:func:`peak_memory` measures in a fresh process.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import pickle
import queue
import sys
import time
import traceback

import numpy as np

from . import _validate
from .data import DiskDataset, minibatches

READS = ("stream", "memmap", "memory")
LOSS_ROWS = 1024  # rows per chunk when the loss is summed over the file


@dataclasses.dataclass(frozen=True)
class StreamedRun:
    """The result of :func:`least_squares_sgd`: the final weights and the
    loss f(w) = 1/(2n) ||X w - y||^2 after each epoch."""

    weights: np.ndarray
    losses: np.ndarray


@dataclasses.dataclass(frozen=True)
class PeakMemory:
    """What :func:`peak_memory` measured: ``fn``'s result, the process's
    resident memory just before ``fn`` ran (``start_bytes``: the interpreter
    and its imports) and its peak (``peak_bytes``) by the time ``fn``
    returned."""

    result: object
    start_bytes: int
    peak_bytes: int

    @property
    def added_bytes(self) -> int:
        """How far ``fn`` raised the peak above where it started."""
        return self.peak_bytes - self.start_bytes


def write_least_squares(
    folder,
    n_samples: int,
    n_features: int,
    noise: float = 0.1,
    seed: int = 0,
    chunk_rows: int = 8192,
) -> DiskDataset:
    """Write y = X w_true + noise N(0, 1), X_ij ~ N(0, 1), w_true ~ N(0, I /
    n_features), as ``X.npy`` and ``y.npy`` (float64) into ``folder``,
    ``chunk_rows`` rows at a time, so that the data never need to fit in
    memory; return the :class:`~gdbook.data.DiskDataset`. The numbers do not
    depend on ``chunk_rows``."""
    n_samples = _validate.integer("n_samples", n_samples, low=1)
    n_features = _validate.integer("n_features", n_features, low=1)
    noise = _validate.real("noise", noise, low=0.0)
    chunk_rows = _validate.integer("chunk_rows", chunk_rows, low=1)
    # one generator for X, one for the noise: chunking cannot change them
    w_rng, x_rng, noise_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    w_true = w_rng.standard_normal(n_features) / np.sqrt(n_features)
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shapes = {"X.npy": (n_samples, n_features), "y.npy": (n_samples,)}
    files = {name: open(folder / name, "wb") for name in shapes}
    try:
        for name, shape in shapes.items():
            header = {"descr": "<f8", "fortran_order": False, "shape": shape}
            np.lib.format.write_array_header_1_0(files[name], header)
        for start in range(0, n_samples, chunk_rows):
            rows = min(chunk_rows, n_samples - start)
            X = x_rng.standard_normal((rows, n_features))
            # row by row (not X @ w_true, whose BLAS blocking could
            # depend on the number of rows)
            y = (X * w_true).sum(axis=1)
            y += noise * noise_rng.standard_normal(rows)
            files["X.npy"].write(X.astype("<f8").tobytes())
            files["y.npy"].write(y.astype("<f8").tobytes())
    finally:
        for file in files.values():
            file.close()
    return DiskDataset(folder)


class _Rows:
    """Rows of a .npy file (the memory map ``array`` of a DiskDataset) read
    by positional reads into a reused buffer, without mapping the file."""

    def __init__(self, array: np.memmap):
        if not array.flags.c_contiguous:
            raise ValueError(
                f"{array.filename} must be stored in C order (row by row) "
                "to be streamed, got Fortran order"
            )
        self.dtype, self.offset = array.dtype, array.offset
        self.width = int(np.prod(array.shape[1:], dtype=int))
        self.row_bytes = self.width * array.dtype.itemsize
        self.file = open(array.filename, "rb", buffering=0)
        self.buffer = np.empty(0, dtype=array.dtype)

    def _view(self, rows: int) -> np.ndarray:
        if self.buffer.size < rows * self.width:
            self.buffer = np.empty(rows * self.width, dtype=self.dtype)
        return self.buffer[: rows * self.width]

    def take(self, idx) -> np.ndarray:
        """Rows ``idx`` (any order), as float64, flattened per row."""
        out = self._view(len(idx))
        raw = memoryview(out).cast("B")
        for k, i in enumerate(idx):
            self.file.seek(self.offset + int(i) * self.row_bytes)
            self.file.readinto(
                raw[k * self.row_bytes : (k + 1) * self.row_bytes]
            )
        return out.astype(np.float64, copy=False)

    def span(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop-1 in one read, as float64."""
        out = self._view(stop - start)
        self.file.seek(self.offset + start * self.row_bytes)
        self.file.readinto(memoryview(out).cast("B"))
        return out.astype(np.float64, copy=False)

    def close(self):
        self.file.close()


def _reader(dataset: DiskDataset, read: str):
    """(batch(idx), span(start, stop), close()) for one way of reading."""
    n, d = dataset.n_samples, dataset.n_features
    if read == "stream":
        X, y = _Rows(dataset.X), _Rows(dataset.y)

        def batch(idx):
            return X.take(idx).reshape(len(idx), d), y.take(idx)

        def span(start, stop):
            return X.span(start, stop).reshape(-1, d), y.span(start, stop)

        def close():
            X.close()
            y.close()

        return batch, span, close
    if read == "memory":
        X = np.load(dataset.folder / "X.npy").astype(np.float64, copy=False)
        y = np.load(dataset.folder / "y.npy").astype(np.float64, copy=False)
    else:  # memmap: index the maps, as DiskDataset.minibatches does
        X, y = dataset.X, dataset.y

    def batch(idx):
        return (
            np.asarray(X[idx], dtype=np.float64),
            np.asarray(y[idx], dtype=np.float64),
        )

    def span(start, stop):
        return batch(np.arange(start, min(stop, n)))

    return batch, span, lambda: None


def _dataset(data) -> DiskDataset:
    if isinstance(data, DiskDataset):
        return data
    if isinstance(data, (str, os.PathLike)):
        return DiskDataset(data)
    raise TypeError(
        "data must be a DiskDataset or the folder that holds its X.npy and "
        f"y.npy, got {type(data).__name__}"
    )


def least_squares_sgd(
    data,
    lr: float,
    batch_size: int,
    epochs: int = 1,
    seed: int = 0,
    read: str = "stream",
) -> StreamedRun:
    """Mini-batch SGD from w = 0 on f(w) = 1/(2n) ||X w - y||^2 over ``data``
    (a :class:`~gdbook.data.DiskDataset` or its folder: pass the folder to
    another process, since pickling the data set's memory maps would copy
    the arrays), ``epochs`` passes of batches of ``batch_size`` rows in the
    order of :func:`gdbook.data.minibatches` with one generator seeded with
    ``seed`` (a new permutation each epoch), each step
    ``w <- w - lr X_B^T (X_B w - y_B) / |B|``.

    ``read`` is ``"stream"``, ``"memmap"`` or ``"memory"`` (see the module
    docstring); all three give the same numbers. The loss after each epoch is
    summed over the file in chunks of ``LOSS_ROWS`` rows, read the same way.
    """
    dataset = _dataset(data)
    n, d = dataset.n_samples, dataset.n_features
    lr = _validate.real("lr", lr, low=0.0, low_open=True)
    batch_size = _validate.batch_size(batch_size, n)
    epochs = _validate.integer("epochs", epochs, low=1)
    if read not in READS:
        raise ValueError(f"read must be one of {READS}, got {read!r}")
    batch, span, close = _reader(dataset, read)
    rng = np.random.default_rng(seed)
    w, losses = np.zeros(d), []
    try:
        for _ in range(epochs):
            for idx in minibatches(n, batch_size, seed=rng):
                Xb, yb = batch(idx)
                w = w - lr * (Xb.T @ (Xb @ w - yb)) / len(idx)
            total = 0.0
            for start in range(0, n, LOSS_ROWS):
                Xc, yc = span(start, min(start + LOSS_ROWS, n))
                total += float(np.sum((Xc @ w - yc) ** 2))
            losses.append(total / (2 * n))
    finally:
        close()
    return StreamedRun(w, np.array(losses))


def high_water_bytes() -> int:
    """This process's peak resident memory so far, in bytes.

    On Linux, VmHWM of ``/proc/self/status``: the peak of this process's own
    address space. ``resource.getrusage(...).ru_maxrss`` is not used there:
    Linux carries the peak over from before ``exec``, so a process started
    by a large parent reports the parent's size. Elsewhere, ``ru_maxrss``
    (bytes on macOS, kilobytes on other systems).
    """
    status = pathlib.Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _measure(fn, args, results):
    """In the fresh process: run ``fn(*args)`` between two readings of the
    high-water mark and report them (or the traceback)."""
    try:
        start = high_water_bytes()
        result = fn(*args)
        outcome = ("ok", result, start, high_water_bytes())
    except BaseException:
        outcome = ("error", traceback.format_exc())
    results.put(pickle.dumps(outcome))


def peak_memory(fn, *args, timeout: float = 120.0) -> PeakMemory:
    """Run ``fn(*args)`` in a new process (started by ``spawn``, so that it
    holds nothing of this one) and measure its resident memory there.

    ``fn`` must be a function importable from a module (spawn pickles it by
    reference), and ``args`` and the result picklable. A ``fn`` that raises
    makes this raise ``RuntimeError`` with its traceback; one still running
    after ``timeout`` seconds is killed and ``TimeoutError`` raised.
    """
    import multiprocessing

    _validate.spawnable(fn)
    timeout = _validate.real("timeout", timeout, low=0.0, low_open=True)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_measure, args=(fn, args, results))
    process.start()
    name = getattr(fn, "__name__", repr(fn))
    deadline = time.monotonic() + timeout
    outcome = None
    try:
        while True:
            try:
                outcome = pickle.loads(results.get(timeout=0.2))
                break
            except queue.Empty:
                if process.exitcode not in (None, 0):
                    raise RuntimeError(
                        f"the process measuring {name} died without "
                        f"reporting (exit code {process.exitcode})"
                    ) from None
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{name} did not finish within {timeout} s and "
                        "was killed"
                    ) from None
    finally:
        # a process that reported exits at once; one that did not is killed
        process.join(timeout=5 if outcome else 0)
        if process.is_alive():
            process.kill()
            process.join()
    if outcome[0] == "error":
        raise RuntimeError(
            f"{name} raised in the measuring process:\n{outcome[1]}"
        )
    _, result, start, peak = outcome
    return PeakMemory(result, start, peak)

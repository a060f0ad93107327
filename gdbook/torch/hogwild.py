"""Hogwild!: several processes run SGD on one weight vector in shared memory,
each reading and writing it without locks.

On a sparse problem, where each example touches a few coordinates, two
workers rarely update the same coordinates at once, and the updates they
overwrite are few; Niu, Recht, Ré & Wright ("Hogwild!: A Lock-Free Approach
to Parallelizing Stochastic Gradient Descent", NeurIPS 2011) prove that SGD
then converges at nearly the serial rate. :func:`hogwild` runs it with
``torch.multiprocessing`` and counts the overlaps it meets.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
import torch.multiprocessing as mp


@dataclasses.dataclass(frozen=True)
class SparseLeastSquares:
    """f(w) = mean_i 0.5 (x_i . w - y_i)^2 with sparse rows x_i, stored as
    CSR arrays: row i's columns are ``indices[indptr[i]:indptr[i + 1]]``,
    with ``values`` alongside."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    y: np.ndarray
    dim: int

    @classmethod
    def random(cls, n: int, dim: int, nonzeros: int, seed: int = 0):
        """n rows with ``nonzeros`` random columns each, values N(0, 1),
        y = X w* + 0.01 noise for w* ~ N(0, I)."""
        if not 1 <= nonzeros <= dim:
            raise ValueError(
                f"nonzeros must be in 1..dim = {dim}, got {nonzeros}"
            )
        rng = np.random.default_rng(seed)
        indices = np.concatenate(
            [rng.choice(dim, nonzeros, replace=False) for _ in range(n)]
        )
        values = rng.standard_normal(n * nonzeros)
        indptr = np.arange(0, n * nonzeros + 1, nonzeros)
        w_star = rng.standard_normal(dim)
        rows = (values * w_star[indices]).reshape(n, nonzeros).sum(axis=1)
        y = rows + 0.01 * rng.standard_normal(n)
        return cls(indptr, indices, values, y, dim)

    def __len__(self):
        return len(self.y)

    def row(self, i):
        span = slice(self.indptr[i], self.indptr[i + 1])
        return self.indices[span], self.values[span]

    def loss(self, w) -> float:
        w = np.asarray(w, dtype=float)
        products = np.add.reduceat(
            self.values * w[self.indices], self.indptr[:-1]
        )
        return float(0.5 * np.mean((products - self.y) ** 2))


def sgd_worker(
    rank, weights, problem, lr, epochs, workers, seed, counts, start=None
):
    """SGD over rows ``rank, rank + workers, ...`` of ``problem``, in a new
    order each epoch, updating the shared ``weights`` in place, unlocked.
    Records in ``counts[rank]`` the number of updates and of overlaps: the
    updates whose coordinates another worker changed between this worker's
    read and its write, and the microseconds its loop took. ``start`` (a
    barrier) makes the workers begin together."""
    w = weights.numpy()  # a view of the shared memory, no copy
    rng = np.random.default_rng(seed + rank)
    rows = np.arange(rank, len(problem), workers)
    updates = overlaps = 0
    if start is not None:
        start.wait()
    began = time.perf_counter()
    for _ in range(epochs):
        for i in rng.permutation(rows):
            columns, values = problem.row(i)
            seen = w[columns]
            step = lr * (seen @ values - problem.y[i]) * values
            overlaps += not np.array_equal(w[columns], seen)
            w[columns] -= step  # read-modify-write, no lock
            updates += 1
    elapsed = round((time.perf_counter() - began) * 1e6)
    counts[rank, 0], counts[rank, 1], counts[rank, 2] = (
        updates,
        overlaps,
        elapsed,
    )


@dataclasses.dataclass
class HogwildResult:
    weights: np.ndarray
    loss: float
    updates: int
    overlaps: int
    seconds: float

    @property
    def overlap_rate(self) -> float:
        """The fraction of updates that met another worker's write."""
        return self.overlaps / self.updates


def hogwild(problem, workers, epochs, lr, seed=0) -> HogwildResult:
    """Run Hogwild! SGD with ``workers`` processes (1: serial SGD in this
    process) from w = 0 for ``epochs`` passes over ``problem``."""
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise TypeError(f"workers must be an int, got {workers!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    weights = torch.zeros(problem.dim, dtype=torch.float64).share_memory_()
    counts = torch.zeros(workers, 3, dtype=torch.int64).share_memory_()
    args = (weights, problem, lr, epochs, workers, seed, counts)
    if workers == 1:
        sgd_worker(0, *args)
    else:
        context = mp.get_context("spawn")
        start = context.Barrier(workers)
        processes = [
            context.Process(target=sgd_worker, args=(rank, *args, start))
            for rank in range(workers)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        failed = [p.exitcode for p in processes if p.exitcode != 0]
        if failed:
            raise RuntimeError(f"Hogwild! workers exited with {failed}")
    seconds = counts[:, 2].max().item() / 1e6  # the slowest worker's loop
    w = weights.numpy().copy()
    updates, overlaps = counts[:, :2].sum(dim=0).tolist()
    return HogwildResult(w, problem.loss(w), updates, overlaps, seconds)

"""The statistics of SGD on a finite sum: its gradients' noise, what they cost,
the level it settles at, and many runs at once for expectations by Monte Carlo.

For f(x) = (1/n) sum_i f_i(x), a mini-batch B of b indices drawn uniformly
gives the estimate g_B(x) = (1/b) sum_{i in B} grad f_i(x), unbiased: E
g_B(x) = grad f(x) (Robbins & Monro 1951; Bottou, Curtis & Nocedal, SIAM Review
2018, sec. 4). ``problem`` is any gdbook problem with ``n_samples`` whose
``grad(x, idx)`` is that mean (see :mod:`gdbook.problems.base`).

Sampling is without replacement inside a batch (``replace=False``, as
:func:`gdbook.data.minibatches` and :func:`gdbook.minimize` draw it) unless
``replace=True``.
"""

from __future__ import annotations

import numpy as np

from . import _validate
from .optim import SGD


def per_sample_gradients(problem, x) -> np.ndarray:
    """The (n, dim) array whose row i is grad
    f_i(x) = ``problem.grad(x, [i])``; its mean is grad f(x)."""
    n = _validate.finite_sum("problem", problem)
    return np.array([problem.grad(x, np.array([i])) for i in range(n)])


def gradient_variance(problem, x) -> float:
    """sigma^2(x) = (1/n) sum_i ||grad f_i(x) - grad f(x)||^2: the variance of
    a one-sample gradient at x.

    At a minimiser it is the sigma*^2 of the SGD theorems (Gower et al. 2019;
    Garrigos & Gower 2023, sec. 5).
    """
    g = per_sample_gradients(problem, x)
    return float(np.mean(np.sum((g - g.mean(axis=0)) ** 2, axis=1)))


def gradient_noise(
    problem, x, batch_size: int, replace: bool = False
) -> float:
    """E ||g_B(x) - grad f(x)||^2 for a uniformly drawn mini-batch of
    ``batch_size`` samples.

    With sigma^2 = :func:`gradient_variance` it is sigma^2 / b with replacement
    and sigma^2 (n - b) / (b (n - 1)) without (the finite-population
    correction; Cochran, *Sampling Techniques*, 1977, ch. 2), which is 0 for
    the full batch b = n.
    """
    n = _validate.finite_sum("problem", problem)
    b = _validate.batch_size(batch_size, n)
    sigma2 = gradient_variance(problem, x)
    if replace:
        return sigma2 / b
    return sigma2 * (n - b) / (b * (n - 1)) if n > 1 else 0.0


def minibatch_gradients(
    problem, x, batch_size: int, n_draws: int, seed=0, replace: bool = False
) -> np.ndarray:
    """``n_draws`` independent mini-batch gradients g_B(x), one per row, from
    ``default_rng(seed)``."""
    n = _validate.finite_sum("problem", problem)
    b = _validate.batch_size(batch_size, n)
    n_draws = _validate.integer("n_draws", n_draws, low=1)
    rng = np.random.default_rng(seed)
    if replace:
        idx = rng.integers(0, n, size=(n_draws, b))
    else:
        # the b smallest of n uniform numbers sit at a uniformly random subset
        # of b distinct indices
        idx = np.argpartition(rng.random((n_draws, n)), b - 1, axis=1)[:, :b]
    return per_sample_gradients(problem, x)[idx].mean(axis=1)


def updates_per_epoch(n_samples: int, batch_size: int | None) -> int:
    """ceil(n / b): the updates in one epoch of batches of ``batch_size`` (1
    for the full batch, None)."""
    n = _validate.integer("n_samples", n_samples, low=1)
    b = n if batch_size is None else _validate.batch_size(batch_size, n)
    return -(-n // b)


def batch_sizes(
    n_samples: int, batch_size: int | None, n_steps: int
) -> np.ndarray:
    """Sizes of the batches used by steps 1..n_steps when epochs are cut into
    ``batch_size`` chunks.

    This is how :func:`gdbook.minimize` draws them: each epoch covers all n
    samples once, in ceil(n/b) batches, the last one smaller when b does not
    divide n. ``batch_size=None`` is the full batch.
    """
    n_steps = _validate.integer("n_steps", n_steps, low=0)
    epoch = np.full(
        updates_per_epoch(n_samples, batch_size),
        n_samples if batch_size is None else batch_size,
    )
    epoch[-1] = n_samples - epoch[0] * (len(epoch) - 1)
    return np.resize(epoch, n_steps)


def gradient_evaluations(
    n_samples: int, batch_size: int | None, n_steps: int
) -> np.ndarray:
    """Per-sample gradients computed after 0, 1, ..., n_steps steps (length
    n_steps + 1); divide by n for epochs."""
    return np.concatenate(
        [[0], np.cumsum(batch_sizes(n_samples, batch_size, n_steps))]
    )


def measured_gap_level(
    gaps, burn_in: int, n_blocks: int = 20
) -> tuple[float, float]:
    """The measured gap f(x_t) - f* at which constant-step SGD hovers, from a
    run's ``gaps``: (mean, stderr).

    The mean is taken over ``gaps[burn_in:]``; the standard error by batch
    means over ``n_blocks`` consecutive blocks, which accounts for the strong
    correlation of successive iterates.
    """
    gaps = np.asarray(gaps, dtype=float)
    if gaps.ndim != 1 or not np.all(np.isfinite(gaps)):
        raise ValueError("gaps must be a finite 1-D array")
    burn_in = _validate.integer("burn_in", burn_in, low=0)
    n_blocks = _validate.integer("n_blocks", n_blocks, low=2)
    tail = gaps[burn_in:]
    if len(tail) < n_blocks:
        raise ValueError(
            f"burn_in must leave at least n_blocks = {n_blocks} values, "
            f"{len(tail)} are left"
        )
    blocks = (
        tail[: len(tail) // n_blocks * n_blocks]
        .reshape(n_blocks, -1)
        .mean(axis=1)
    )
    return float(tail.mean()), float(blocks.std(ddof=1) / np.sqrt(n_blocks))


def predicted_gap_level(
    problem, lr: float, batch_size: int, replace: bool = False
) -> float:
    """The predicted gap E f - f* at which constant-step SGD settles, for small
    lr: lr/4 E ||g_B(x*) - grad f(x*)||^2.

    Near x* the iterates follow x_{t+1} - x* = (I - lr H)(x_t - x*) - lr xi_t
    with noise covariance Sigma; to first order in lr their covariance C solves
    H C + C H = lr Sigma, so E f - f* = tr(H C) / 2 = lr tr(Sigma) / 4,
    whatever the Hessian H (Mandt, Hoffman & Blei, JMLR 2017). Requires
    ``problem.x_star``; proportional to lr, and to about 1/b.
    """
    if getattr(problem, "x_star", None) is None:
        raise ValueError(
            "problem must know its minimiser x_star, "
            f"{type(problem).__name__} does not"
        )
    L = getattr(problem, "L", None)
    lr = _validate.real(
        "lr",
        lr,
        low=0.0,
        low_open=True,
        high=None if L is None else 2.0 / L,
        high_open=True,
    )
    return (
        lr / 4.0 * gradient_noise(problem, problem.x_star, batch_size, replace)
    )


def log_binned(
    x, y, bins_per_decade: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Means of ``y`` over bins of ``x`` equally spaced in log10(x), to plot a
    noisy stochastic run on log axes.

    ``x`` must be positive and increasing (e.g. gradient evaluations or
    updates). The bins are (10^((j-1)/k), 10^(j/k)] with
    k = ``bins_per_decade``. Returns, for each non-empty bin, the geometric
    mean of its x and the arithmetic mean of its y; early bins hold single
    points.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            "x and y must be 1-D arrays of the same length, got shapes "
            f"{x.shape} and {y.shape}"
        )
    if np.any(x <= 0) or np.any(np.diff(x) <= 0):
        raise ValueError("x must be positive and strictly increasing")
    bins_per_decade = _validate.integer(
        "bins_per_decade", bins_per_decade, low=1
    )
    labels = np.ceil(np.log10(x) * bins_per_decade - 1e-9).astype(int)
    starts = np.flatnonzero(np.diff(labels, prepend=labels[0] - 1))
    counts = np.diff(np.append(starts, len(x)))
    centres = np.exp(np.add.reduceat(np.log(x), starts) / counts)
    return centres, np.add.reduceat(y, starts) / counts


def sgd_ensemble(
    model, w0, lr, steps: int, runs: int, seed: int = 0, record_every: int = 1
) -> np.ndarray:
    """``runs`` independent chains of single-sample SGD, w <- w - lr_t grad
    f_i(w) with i uniform on {0..n-1}.

    All chains start at ``w0`` and step in lockstep (vectorised); ``lr`` is a
    float or a schedule t -> lr_t. Returns the iterates at t = 0, record_every,
    2 record_every, ..., as an array (records, runs, dim). Averages over the
    runs estimate expectations such as E||w_t - w*||^2 (Robbins & Monro 1951).
    """
    if not callable(getattr(model, "sample_grads", None)):
        raise TypeError(
            "model must be a finite sum with sample_grads (e.g. "
            "gdbook.problems.LeastSquares), "
            f"got {type(model).__name__}"
        )
    w0 = _validate.vector("w0", w0, dim=model.dim)
    steps = _validate.integer("steps", steps, low=0)
    runs = _validate.integer("runs", runs, low=1)
    record_every = _validate.integer("record_every", record_every, low=1)
    schedule = SGD(
        lr
    )  # validates a constant lr now, and each schedule value as it is used
    rng = np.random.default_rng(seed)
    W = np.tile(w0, (runs, 1))
    records = [W]
    for t in range(steps):
        W = W - schedule.lr_at(t) * model.sample_grads(
            W, rng.integers(model.n_samples, size=runs)
        )
        if (t + 1) % record_every == 0:
            records.append(W)
    return np.array(records)


def mean_squared_distance(paths, x_star) -> tuple[np.ndarray, np.ndarray]:
    """The Monte Carlo estimate of E||w_t - x*||^2 from :func:`sgd_ensemble`'s
    paths, and its standard error.

    Returns (mean, stderr), each of shape (records,): the average over runs and
    std / sqrt(runs).
    """
    paths = np.asarray(paths, dtype=float)
    if paths.ndim != 3:
        raise ValueError(
            f"paths must have shape (records, runs, dim), got {paths.shape}"
        )
    x_star = _validate.vector("x_star", x_star, dim=paths.shape[2])
    d2 = np.sum((paths - x_star) ** 2, axis=2)
    return d2.mean(axis=1), d2.std(axis=1) / np.sqrt(d2.shape[1])

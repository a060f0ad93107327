"""Data for the book: synthetic sets with known ground truth, scikit-learn's
bundled sets, mini-batches, and :class:`DiskDataset`, which streams
mini-batches from .npy files on disk.

Nothing is downloaded: synthetic data come from
``numpy.random.default_rng(seed)`` and the real data sets are the ones
scikit-learn ships inside its package (``load_breast_cancer``,
``load_diabetes``, ...).
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import _validate


@dataclass(frozen=True)
class Dataset:
    """Features ``X`` (n, d), targets ``y`` (n,), and the parameters that
    generated them when known."""

    X: np.ndarray
    y: np.ndarray
    w_true: np.ndarray | None = None
    feature_names: tuple[str, ...] = ()
    description: str = ""


def add_intercept(X) -> np.ndarray:
    """Prepend a column of ones, so that w[0] is the intercept: [1, x_1, ...,
    x_d]."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(
            "X must be a 2-D array (n_samples, n_features), got shape "
            f"{X.shape}"
        )
    return np.hstack([np.ones((X.shape[0], 1)), X])


def standardize(
    X, mean=None, scale=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X - mean) / scale column by column; returns (X_scaled, mean, scale) so
    test data can reuse them.

    Constant columns keep scale 1 rather than dividing by zero.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or len(X) < 1:
        raise ValueError(
            "X must be a 2-D array (n_samples >= 1, n_features), got shape "
            f"{X.shape}"
        )
    mean = (
        X.mean(axis=0)
        if mean is None
        else _validate.vector("mean", mean, dim=X.shape[1])
    )
    if scale is None:
        scale = X.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
    else:
        scale = _validate.vector("scale", scale, dim=X.shape[1])
        if np.any(scale <= 0):
            raise ValueError(f"scale must be > 0 in every column, got {scale}")
    return (X - mean) / scale, mean, scale


def linear_regression(
    n_samples: int = 100,
    n_features: int = 1,
    noise: float = 1.0,
    seed: int = 0,
    intercept: float = 4.0,
    x_range: tuple[float, float] = (0.0, 2.0),
) -> Dataset:
    """y = intercept + X w + noise * N(0, 1), X uniform on ``x_range``;
    w_true = [intercept, w] with w_j = 3 / j.

    With the defaults this is the classic y = 4 + 3x + N(0, 1) example on x in
    [0, 2]. ``X`` is returned without the intercept column; use
    :func:`add_intercept` to fit ``w_true``.
    """
    n_samples = _validate.integer("n_samples", n_samples, low=1)
    n_features = _validate.integer("n_features", n_features, low=1)
    noise = _validate.real("noise", noise, low=0.0)
    rng = np.random.default_rng(seed)
    X = rng.uniform(*x_range, size=(n_samples, n_features))
    w = 3.0 / np.arange(1, n_features + 1)
    y = intercept + X @ w + noise * rng.standard_normal(n_samples)
    return Dataset(
        X,
        y,
        np.concatenate([[intercept], w]),
        tuple(f"x{j + 1}" for j in range(n_features)),
        f"y = {intercept} + X w + {noise} N(0,1), seed {seed}",
    )


def logistic_classification(
    n_samples: int = 200, n_features: int = 2, seed: int = 0, w_true=None
) -> Dataset:
    """Labels y ~ Bernoulli(sigma(X w_true)) with X ~ N(0, I); w_true defaults
    to (2, -1, 0.5, ...)."""
    n_samples = _validate.integer("n_samples", n_samples, low=1)
    n_features = _validate.integer("n_features", n_features, low=1)
    rng = np.random.default_rng(seed)
    if w_true is None:
        w_true = 2.0 * (-0.5) ** np.arange(n_features)
    w_true = _validate.vector("w_true", w_true, dim=n_features)
    X = rng.standard_normal((n_samples, n_features))
    y = (rng.uniform(size=n_samples) < 1 / (1 + np.exp(-X @ w_true))).astype(
        float
    )
    return Dataset(
        X,
        y,
        w_true,
        tuple(f"x{j + 1}" for j in range(n_features)),
        f"Bernoulli(sigmoid(X w_true)), X ~ N(0, I), seed {seed}",
    )


_SKLEARN_SETS = ("breast_cancer", "diabetes", "iris", "wine", "digits")


def load(name: str) -> Dataset:
    """A data set bundled with scikit-learn (no download): one of
    breast_cancer, diabetes, iris, wine, digits."""
    if name not in _SKLEARN_SETS:
        raise ValueError(
            f"name must be one of {', '.join(_SKLEARN_SETS)}; got {name!r}"
        )
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    names = tuple(str(f) for f in getattr(bunch, "feature_names", ()))
    return Dataset(
        bunch.data.astype(float),
        bunch.target.astype(float),
        None,
        names,
        _title(bunch.DESCR) or name,
    )


def _title(description: str) -> str:
    """The first line of scikit-learn's reStructuredText description that is
    text, not a label or a rule."""
    lines = (line.strip() for line in (description or "").splitlines())
    return next(
        (
            line
            for line in lines
            if line and not line.startswith("..") and set(line) - set("-=*")
        ),
        "",
    )


def minibatches(
    n_samples: int,
    batch_size: int,
    seed: int | np.random.Generator | None = 0,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[np.ndarray]:
    """Index arrays covering 0..n_samples-1 once (one epoch), in batches of
    ``batch_size``.

    With ``shuffle`` the order is a permutation drawn from
    ``default_rng(seed)`` (pass a Generator to draw a fresh permutation each
    epoch). The last batch is smaller unless ``drop_last``.
    """
    n_samples = _validate.integer("n_samples", n_samples, low=1)
    batch_size = _validate.batch_size(batch_size, n_samples)
    order = (
        np.random.default_rng(seed).permutation(n_samples)
        if shuffle
        else np.arange(n_samples)
    )
    stop = n_samples - n_samples % batch_size if drop_last else n_samples
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


def sparse_regression(
    n_samples: int = 2000,
    n_features: int = 50,
    max_frequency: float = 0.5,
    min_frequency: float = 0.005,
    noise: float = 0.5,
    seed: int = 0,
) -> Dataset:
    """Binary features of very different frequencies: y = X
    w_true + noise * N(0, 1).

    Feature j is 1 in a sample with probability p_j, the p_j log-spaced from
    ``max_frequency`` (j = 0) down to ``min_frequency`` (j = n_features - 1),
    as words in text or categories in click logs; w_true_j = +-2 with random
    signs. X, the signs and the noise come from
    ``numpy.random.default_rng(seed)``. A rare feature's weight is estimated
    from few samples and receives a non-zero gradient only from them.
    """
    n_samples = _validate.integer("n_samples", n_samples, low=1)
    n_features = _validate.integer("n_features", n_features, low=1)
    max_frequency = _validate.real(
        "max_frequency", max_frequency, low=0.0, low_open=True, high=1.0
    )
    min_frequency = _validate.real(
        "min_frequency",
        min_frequency,
        low=0.0,
        low_open=True,
        high=max_frequency,
    )
    noise = _validate.real("noise", noise, low=0.0)
    rng = np.random.default_rng(seed)
    frequencies = np.geomspace(max_frequency, min_frequency, n_features)
    X = (rng.uniform(size=(n_samples, n_features)) < frequencies).astype(float)
    w_true = 2.0 * rng.choice([-1.0, 1.0], size=n_features)
    y = X @ w_true + noise * rng.standard_normal(n_samples)
    return Dataset(
        X,
        y,
        w_true,
        tuple(f"x{j + 1}" for j in range(n_features)),
        f"y = X w_true + {noise} N(0,1), X_ij ~ Bernoulli(p_j), p_j "
        "log-spaced from "
        f"{max_frequency} to {min_frequency}, seed {seed}",
    )


class DiskDataset:
    """Features and targets stored as ``X.npy`` and ``y.npy`` in ``folder``,
    read a mini-batch at a time.

    Both files are opened with ``numpy.load(path, mmap_mode="r")``: the arrays
    are memory maps, so a batch ``X[idx]`` reads only the rows it indexes from
    disk and a data set larger than memory can be streamed. Write one with
    :meth:`save`.
    """

    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self.X, self.y = (
            _open_npy(self.folder / name) for name in ("X.npy", "y.npy")
        )
        if self.X.ndim != 2:
            raise ValueError(
                f"{self.folder / 'X.npy'} must hold a 2-D array (n_samples, "
                "n_features), "
                f"got shape {self.X.shape}"
            )
        if self.y.shape != (self.X.shape[0],):
            raise ValueError(
                f"{self.folder / 'y.npy'} must hold shape "
                f"({self.X.shape[0]},) to match the rows of "
                f"X.npy, got {self.y.shape}"
            )
        self.n_samples, self.n_features = self.X.shape

    @classmethod
    def save(cls, folder, X, y) -> DiskDataset:
        """Write X (n, d) and y (n,) as float64 .npy files into ``folder``
        (created if missing); open them."""
        X, y = _validate.design(X, y)
        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "X.npy", X)
        np.save(folder / "y.npy", y)
        return cls(folder)

    def batch(self, idx) -> tuple[np.ndarray, np.ndarray]:
        """(X[idx], y[idx]) for an integer index array ``idx``: only these rows
        are read from disk."""
        return self.X[idx], self.y[idx]

    def minibatches(
        self,
        batch_size: int,
        seed: int | np.random.Generator | None = 0,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One epoch of (X_batch, y_batch), in the order of :func:`minibatches`
        with the same arguments."""
        for idx in minibatches(
            self.n_samples, batch_size, seed, shuffle, drop_last
        ):
            yield self.batch(idx)

    def __repr__(self) -> str:
        return (
            f"DiskDataset({str(self.folder)!r}, n_samples={self.n_samples}, "
            f"n_features={self.n_features})"
        )


def _open_npy(path: pathlib.Path) -> np.memmap:
    """``numpy.load(path, mmap_mode="r")``, with errors that name the file."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; write the data set with DiskDataset.save"
        )
    try:
        array = np.load(path, mmap_mode="r")
    except (
        ValueError,
        OSError,
        EOFError,
    ) as err:  # an empty file ends in EOFError
        raise ValueError(
            f"{path} is not a readable .npy array file: {err or 'it is empty'}"
        ) from None
    if (
        array.dtype.kind not in "iuf"
    ):  # strings, dates, complex and bool are not features or targets
        raise ValueError(
            f"{path} must hold integer or floating-point numbers, got dtype "
            f"{array.dtype}"
        )
    return array

"""Argument checks shared by the package: each error names the argument and
what is allowed."""

from __future__ import annotations

import numbers
import pickle

import numpy as np


def real(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float in the given interval, or raise
    naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {type(value).__name__}"
        )
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(
            f"{name} must be {'>' if low_open else '>='} {low}, got {value}"
        )
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(
            f"{name} must be {'<' if high_open else '<='} {high}, got {value}"
        )
    return value


def integer(name: str, value, *, low: int | None = None) -> int:
    """Return ``value`` as an int >= ``low``, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer, got {type(value).__name__}"
        )
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def betas(value) -> tuple[float, float]:
    """Return ``value`` as a pair (beta1, beta2) of decay rates in [0, 1),
    as Adam and its relatives take them, or raise naming ``betas``."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {value!r}")
    return tuple(
        real(f"betas[{i}]", b, low=0.0, high=1.0, high_open=True)
        for i, b in enumerate(value)
    )


def adam_family(decay_rates, eps, weight_decay) -> tuple:
    """``(betas, eps, weight_decay)``, given as ``decay_rates, eps,
    weight_decay``, checked as Adam and the optimizers built
    on its moments (Adamax, NAdam, RAdam, LAMB) take them: decay rates in
    [0, 1), eps >= 0, weight_decay >= 0."""
    return (
        betas(decay_rates),
        real("eps", eps, low=0.0),
        real("weight_decay", weight_decay, low=0.0),
    )


def flag(name: str, value) -> bool:
    """Return ``value`` if it is a bool (numpy's included), or raise naming
    ``name``: ``bool("False")`` is True."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{name} must be True or False, got {type(value).__name__} "
            f"{value!r}"
        )
    return bool(value)


def vector(name: str, value, *, dim: int | None = None) -> np.ndarray:
    """Return ``value`` as a finite 1-D float array (of length ``dim`` if
    given), or raise naming ``name``."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a 1-D array of real numbers: {err}"
        ) from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if dim is not None and arr.shape != (dim,):
        raise ValueError(f"{name} must have shape ({dim},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} must be finite, got NaN or inf at index "
            f"{int(np.flatnonzero(~np.isfinite(arr))[0])}"
        )
    return arr


def design(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Return a data set ``(X, y)`` as finite real float arrays, X
    (n_samples >= 1, n_features >= 1) and y (n_samples,), or raise naming the
    argument."""
    if np.iscomplexobj(X) or np.iscomplexobj(y):
        raise TypeError(
            "X and y must be real; got complex values (their imaginary "
            "parts would be dropped)"
        )
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            "X must be a 2-D array (n_samples >= 1, n_features >= 1), got "
            f"shape {X.shape}"
        )
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"y must have shape ({X.shape[0]},) to match X's rows, got "
            f"{y.shape}"
        )
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite")
    return X, y


def finite_sum(name: str, problem) -> int:
    """The number of samples n of a finite-sum ``problem`` (its ``n_samples``),
    or raise naming ``name``."""
    n = getattr(problem, "n_samples", None)
    if n is None:
        raise ValueError(
            f"{name} must be a finite sum with n_samples, got "
            f"{type(problem).__name__}"
        )
    return n


def batch_size(value, n_samples: int) -> int:
    """A mini-batch size: an integer in [1, n_samples]."""
    value = integer("batch_size", value, low=1)
    if value > n_samples:
        raise ValueError(
            f"batch_size must be <= n_samples = {n_samples}, got {value}"
        )
    return value


def indices(
    name: str, value, n_samples: int, shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """An integer array of sample indices in [0, n_samples) (of ``shape`` if
    given, else non-empty 1-D)."""
    idx = np.asarray(value)
    if not np.issubdtype(idx.dtype, np.integer) or (
        idx.shape != shape
        if shape is not None
        else idx.ndim != 1 or idx.size == 0
    ):
        wanted = f"of shape {shape}" if shape is not None else "non-empty 1-D"
        raise ValueError(
            f"{name} must be an integer array {wanted} of sample indices, "
            f"got {idx.dtype} {idx.shape}"
        )
    if idx.size and (idx.min() < 0 or idx.max() >= n_samples):
        raise ValueError(
            f"{name} must hold indices in [0, {n_samples}), got min "
            f"{idx.min()}, max {idx.max()}"
        )
    return idx


def same_shape(
    name: str, value: np.ndarray, like: np.ndarray, like_name: str = "x"
) -> np.ndarray:
    """Require ``value`` to have exactly the shape of ``like`` (no
    broadcasting)."""
    value = np.asarray(value, dtype=float)
    if value.shape != np.shape(like):
        raise ValueError(
            f"{name} must have the shape of {like_name}, {np.shape(like)}, "
            f"got {value.shape}"
        )
    return value


def spawnable(fn) -> None:
    """Raise, naming ``fn``, unless it can be sent to a process started by
    ``spawn``: spawn pickles a function by reference, so it must be callable
    and importable from a module (not a lambda, not defined in a cell)."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {fn!r}")
    try:
        pickle.dumps(fn)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ValueError(
            "fn must be picklable, i.e. a function importable from a module "
            "(processes start by spawn, which pickles functions by "
            f"reference); got {fn!r}: {error}"
        ) from None

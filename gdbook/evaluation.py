"""Held-out evaluation: a seeded train/test split and the scores that the
applications report.

- :func:`train_test_split` -- index arrays of a random split, optionally
  stratified by class, drawn from ``numpy.random.default_rng(seed)`` (the same
  seed gives the same split on every machine);
- :func:`accuracy` -- the fraction of predicted labels equal to the true ones;
- :func:`rmse` -- the root-mean-square error
  sqrt((1/m) sum_i (yhat_i - y_i)^2);
- :func:`r2_score` -- the coefficient of determination
  1 - sum_i (y_i - yhat_i)^2 / sum_i (y_i - ybar)^2 (Hastie, Tibshirani &
  Friedman 2009, sec. 3.2), 1 for a perfect fit and 0 for predicting the mean.

A model is judged on data it was not fitted to: the training loss measures the
optimizer, the held-out score measures the model (Hastie et al. 2009, ch. 7).
"""

from __future__ import annotations

import numpy as np

from . import _validate


def train_test_split(
    n_samples: int, test_fraction: float = 0.2, seed: int = 0, stratify=None
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test): sorted index arrays that partition 0..n_samples-1, with
    round(test_fraction * n) in test.

    With ``stratify`` (one label per sample), each class c contributes
    round(test_fraction * n_c) of its n_c samples to the test set, so both sets
    keep the class proportions. Raises ValueError if either set (or,
    stratified, either part of a class) would be empty.
    """
    n_samples = _validate.integer("n_samples", n_samples, low=2)
    test_fraction = _validate.real(
        "test_fraction",
        test_fraction,
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
    )
    rng = np.random.default_rng(seed)
    if stratify is None:
        groups = [np.arange(n_samples)]
    else:
        labels = np.asarray(stratify)
        if labels.shape != (n_samples,):
            raise ValueError(
                f"stratify must have shape ({n_samples},), one label per "
                f"sample, got {labels.shape}"
            )
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    test = []
    for members in groups:
        n_test = int(round(test_fraction * len(members)))
        if not 0 < n_test < len(members):
            where = (
                ""
                if stratify is None
                else f" for a class of {len(members)} samples"
            )
            raise ValueError(
                f"test_fraction = {test_fraction} leaves {n_test} test "
                f"samples{where}; "
                "both the training and the test set must be non-empty"
            )
        test.append(rng.permutation(members)[:n_test])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(n_samples), test)
    return train, test


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.size == 0:
        raise ValueError(
            f"y_true must be a non-empty 1-D array, got shape {y_true.shape}"
        )
    if y_pred.shape != y_true.shape:
        raise ValueError(
            f"y_pred must have the shape of y_true, {y_true.shape}, got "
            f"{y_pred.shape}"
        )
    return y_true, y_pred


def accuracy(y_true, y_pred) -> float:
    """The fraction of samples with y_pred == y_true (labels of any type;
    shapes must be equal)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def rmse(y_true, y_pred) -> float:
    """sqrt(mean((y_pred - y_true)^2)), in the units of y."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(
        np.sqrt(
            np.mean(
                (
                    np.asarray(y_pred, dtype=float)
                    - np.asarray(y_true, dtype=float)
                )
                ** 2
            )
        )
    )


def r2_score(y_true, y_pred) -> float:
    """1 - sum (y_true - y_pred)^2 / sum (y_true - mean(y_true))^2; needs
    y_true not constant."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = y_true.astype(float), y_pred.astype(float)
    total = np.sum((y_true - y_true.mean()) ** 2)
    if total == 0:
        raise ValueError(
            "y_true must not be constant: R^2 divides by its variance"
        )
    return float(1.0 - np.sum((y_true - y_pred) ** 2) / total)

"""gdbook.evaluation: the split is a seeded partition that keeps class
proportions; the scores agree with scikit-learn's and reject mismatched
shapes."""

import numpy as np
import pytest
from sklearn import metrics

from gdbook import evaluation


def test_split_is_a_sorted_partition_of_the_requested_size():
    train, test = evaluation.train_test_split(101, test_fraction=0.3, seed=4)
    assert len(test) == round(0.3 * 101) and len(train) == 101 - len(test)
    np.testing.assert_array_equal(
        np.sort(np.concatenate([train, test])), np.arange(101)
    )
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)


def test_split_depends_on_the_seed_only():
    first = evaluation.train_test_split(50, seed=7)
    again = evaluation.train_test_split(50, seed=7)
    other = evaluation.train_test_split(50, seed=8)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])


def test_split_is_random_not_a_block():
    train, test = evaluation.train_test_split(1000, test_fraction=0.2, seed=0)
    assert 300 < test.mean() < 700 and test.max() - test.min() > 900


def test_stratified_split_keeps_each_class_proportion():
    labels = np.array([0] * 90 + [1] * 10 + [2] * 20)
    train, test = evaluation.train_test_split(
        len(labels), test_fraction=0.2, seed=1, stratify=labels
    )
    assert [int(np.sum(labels[test] == c)) for c in (0, 1, 2)] == [18, 2, 4]
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(
        test
    ) == len(labels)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_samples=1), "n_samples must be >= 2"),
        (dict(n_samples=10, test_fraction=1.0), "test_fraction must be < 1"),
        (dict(n_samples=10, test_fraction=0.0), "test_fraction must be > 0"),
        (dict(n_samples=10, test_fraction=0.01), "leaves 0 test samples"),
        (
            dict(n_samples=10, stratify=np.zeros(9)),
            r"stratify must have shape \(10,\)",
        ),
        (
            dict(
                n_samples=10,
                test_fraction=0.3,
                stratify=np.array([0] * 9 + [1]),
            ),
            "for a class of 1 samples",
        ),
    ],
)
def test_split_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        evaluation.train_test_split(**kwargs)


def test_scores_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    y_hat = y + rng.normal(scale=0.3, size=40)
    assert evaluation.rmse(y, y_hat) == pytest.approx(
        np.sqrt(metrics.mean_squared_error(y, y_hat)), rel=1e-12
    )
    assert evaluation.r2_score(y, y_hat) == pytest.approx(
        metrics.r2_score(y, y_hat), rel=1e-12
    )
    labels, guesses = rng.integers(0, 3, 40), rng.integers(0, 3, 40)
    assert evaluation.accuracy(labels, guesses) == pytest.approx(
        metrics.accuracy_score(labels, guesses)
    )


def test_scores_on_known_values():
    assert evaluation.accuracy([1, 0, 1, 1], [1, 1, 1, 0]) == 0.5
    assert evaluation.rmse([0.0, 0.0], [3.0, 4.0]) == pytest.approx(
        np.sqrt(12.5)
    )
    y = np.array([1.0, 2.0, 3.0])
    assert evaluation.r2_score(y, y) == 1.0
    assert evaluation.r2_score(y, np.full(3, 2.0)) == 0.0


def test_scores_refuse_to_broadcast():
    column = np.zeros((5, 1))
    with pytest.raises(
        ValueError, match=r"y_pred must have the shape of y_true, \(5,\)"
    ):
        evaluation.rmse(np.zeros(5), column)
    with pytest.raises(
        ValueError, match="y_true must be a non-empty 1-D array"
    ):
        evaluation.accuracy(column, column)
    with pytest.raises(ValueError, match="must not be constant"):
        evaluation.r2_score(np.ones(3), np.zeros(3))

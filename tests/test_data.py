"""gdbook.data: synthetic sets recover their truth, bundled sets load offline,
mini-batches cover an epoch."""

import numpy as np
import pytest

from gdbook import data


def test_linear_regression_defaults_are_the_classic_example_and_reproducible():
    ds = data.linear_regression()
    assert ds.X.shape == (100, 1) and ds.y.shape == (100,)
    np.testing.assert_array_equal(ds.w_true, [4.0, 3.0])
    assert ds.X.min() >= 0.0 and ds.X.max() <= 2.0
    np.testing.assert_array_equal(data.linear_regression().y, ds.y)
    assert not np.array_equal(data.linear_regression(seed=1).y, ds.y)


def test_linear_regression_truth_is_recovered_by_least_squares():
    ds = data.linear_regression(
        n_samples=20000, n_features=3, noise=0.5, seed=3
    )
    w_hat = np.linalg.lstsq(data.add_intercept(ds.X), ds.y, rcond=None)[0]
    np.testing.assert_allclose(w_hat, ds.w_true, atol=0.05)
    residual = ds.y - data.add_intercept(ds.X) @ ds.w_true
    assert residual.std() == pytest.approx(0.5, rel=0.05)


def test_logistic_labels_follow_the_model():
    ds = data.logistic_classification(n_samples=20000, n_features=2, seed=0)
    assert set(np.unique(ds.y)) == {0.0, 1.0}
    p = 1 / (1 + np.exp(-ds.X @ ds.w_true))
    assert np.mean(ds.y) == pytest.approx(np.mean(p), abs=0.01)


def test_add_intercept_and_standardize():
    X = np.array([[1.0, 5.0], [3.0, 5.0]])
    np.testing.assert_array_equal(
        data.add_intercept(X), [[1, 1, 5], [1, 3, 5]]
    )
    Z, mean, scale = data.standardize(X)
    np.testing.assert_allclose(Z, [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(scale, [1.0, 1.0])
    np.testing.assert_allclose(
        data.standardize(X * 2, mean * 2, scale)[0], [[-2.0, 0.0], [2.0, 0.0]]
    )
    with pytest.raises(ValueError, match="X must be a 2-D"):
        data.add_intercept(np.ones(3))


@pytest.mark.parametrize(
    "name, shape",
    [
        ("breast_cancer", (569, 30)),
        ("diabetes", (442, 10)),
        ("iris", (150, 4)),
    ],
)
def test_bundled_datasets_load_without_network(name, shape):
    ds = data.load(name)
    assert ds.X.shape == shape and ds.y.shape == (shape[0],)
    assert len(ds.feature_names) == shape[1]
    assert ds.description.endswith(
        "dataset"
    ) and not ds.description.startswith("..")


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ValueError, match="breast_cancer, diabetes"):
        data.load("mnist")


def test_minibatches_cover_each_sample_once_per_epoch():
    batches = list(data.minibatches(10, 3, seed=0))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    np.testing.assert_array_equal(
        np.sort(np.concatenate(batches)), np.arange(10)
    )
    assert [len(b) for b in data.minibatches(10, 3, drop_last=True)] == [
        3,
        3,
        3,
    ]
    np.testing.assert_array_equal(
        np.concatenate(list(data.minibatches(5, 2, shuffle=False))),
        np.arange(5),
    )
    first = np.concatenate(list(data.minibatches(10, 3, seed=0)))
    np.testing.assert_array_equal(first, np.concatenate(batches))
    rng = np.random.default_rng(0)
    epoch1, epoch2 = (
        np.concatenate(list(data.minibatches(10, 3, seed=rng)))
        for _ in range(2)
    )
    assert not np.array_equal(epoch1, epoch2)


@pytest.mark.parametrize(
    "args, match",
    [
        ((0, 1), "n_samples"),
        ((5, 0), "batch_size"),
        ((5, 6), "batch_size"),
        ((5, 2.0), "batch_size"),
    ],
)
def test_minibatches_reject_bad_sizes(args, match):
    with pytest.raises((ValueError, TypeError), match=match):
        next(data.minibatches(*args))


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(mean=[1.0]), r"mean must have shape \(3,\)"),
        (dict(scale=[1.0, 2.0]), r"scale must have shape \(3,\)"),
        (dict(scale=[1.0, 0.0, 1.0]), "scale must be > 0"),
    ],
)
def test_standardize_refuses_statistics_that_would_broadcast(options, match):
    with pytest.raises(ValueError, match=match):
        data.standardize(np.ones((4, 3)), **options)

"""gdbook.data.sparse_regression: feature frequencies as documented, truth
recoverable, seeded, checked."""

import numpy as np
import pytest

from gdbook import data


def test_feature_frequencies_are_log_spaced_as_documented():
    ds = data.sparse_regression(
        n_samples=40000,
        n_features=5,
        max_frequency=0.5,
        min_frequency=0.02,
        seed=1,
    )
    assert set(np.unique(ds.X)) == {0.0, 1.0}
    expected = np.geomspace(0.5, 0.02, 5)
    np.testing.assert_allclose(ds.X.mean(axis=0), expected, rtol=0.1)
    np.testing.assert_array_equal(np.abs(ds.w_true), 2.0)


def test_truth_is_recovered_by_least_squares_and_noise_has_its_scale():
    ds = data.sparse_regression(
        n_samples=20000, n_features=10, min_frequency=0.05, noise=0.3, seed=2
    )
    w_hat = np.linalg.lstsq(ds.X, ds.y, rcond=None)[0]
    np.testing.assert_allclose(w_hat, ds.w_true, atol=0.05)
    assert np.std(ds.y - ds.X @ ds.w_true) == pytest.approx(0.3, rel=0.05)


def test_seed_reproduces_and_changes_the_data():
    a, b, c = (
        data.sparse_regression(seed=0),
        data.sparse_regression(seed=0),
        data.sparse_regression(seed=1),
    )
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    assert a.X.shape == (2000, 50) and a.y.shape == (2000,)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(min_frequency=0.6), "min_frequency must be <= 0.5"),
        (dict(max_frequency=1.5), "max_frequency must be <= 1"),
        (dict(min_frequency=0.0), "min_frequency must be > 0"),
        (dict(noise=-1.0), "noise must be >= 0"),
        (dict(n_features=0), "n_features must be >= 1"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.sparse_regression(**kwargs)

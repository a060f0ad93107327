"""gdbook.data.DiskDataset: mini-batches streamed from .npy files equal
in-memory indexing, without loading the file."""

import tracemalloc

import numpy as np
import pytest

from gdbook import data

RNG = np.random.default_rng(11)
X = RNG.standard_normal((23, 4))
Y = RNG.standard_normal(23)


@pytest.fixture
def stored(tmp_path):
    return data.DiskDataset.save(tmp_path / "set", X, Y)


def test_saved_files_reopen_as_memory_maps(stored, tmp_path):
    again = data.DiskDataset(tmp_path / "set")
    assert (again.n_samples, again.n_features) == (23, 4)
    assert isinstance(again.X, np.memmap) and isinstance(again.y, np.memmap)
    assert (
        again.X.mode == "r" == again.y.mode
    )  # read-only: a batch cannot write back to the file
    np.testing.assert_array_equal(again.X, X)
    np.testing.assert_array_equal(again.y, Y)


@pytest.mark.parametrize(
    "options",
    [{"seed": 3}, {"seed": 3, "drop_last": True}, {"shuffle": False}],
)
def test_streamed_batches_equal_in_memory_indexing(stored, options):
    streamed = list(stored.minibatches(5, **options))
    expected = [(X[idx], Y[idx]) for idx in data.minibatches(23, 5, **options)]
    assert len(streamed) == len(expected)
    for (Xb, yb), (Xe, ye) in zip(streamed, expected, strict=True):
        assert (
            type(Xb) is np.ndarray and type(yb) is np.ndarray
        )  # copies of the rows read, not maps of the file
        np.testing.assert_array_equal(Xb, Xe)
        np.testing.assert_array_equal(yb, ye)


def test_every_sample_once_per_epoch_and_a_new_order_each_epoch(stored):
    rng = np.random.default_rng(0)
    epochs = [
        np.concatenate([yb for _, yb in stored.minibatches(4, seed=rng)])
        for _ in range(2)
    ]
    for epoch in epochs:
        np.testing.assert_array_equal(np.sort(epoch), np.sort(Y))
    assert not np.array_equal(epochs[0], epochs[1])


def test_an_epoch_never_holds_the_whole_file_in_memory(tmp_path):
    big = np.random.default_rng(0).standard_normal((20000, 50))  # 8 MB on disk
    data.DiskDataset.save(tmp_path, big, big[:, 0])
    del big
    tracemalloc.start()
    try:
        rows = sum(
            len(yb)
            for _, yb in data.DiskDataset(tmp_path).minibatches(100, seed=0)
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rows == 20000
    assert peak < 1_000_000, (
        f"peak allocation {peak} bytes: the file was loaded, not streamed"
    )


def test_missing_and_corrupt_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"X\.npy does not exist"):
        data.DiskDataset(tmp_path)
    data.DiskDataset.save(tmp_path, X, Y)
    (tmp_path / "y.npy").write_bytes(b"not an array")
    with pytest.raises(
        ValueError, match=r"y\.npy is not a readable \.npy array file"
    ):
        data.DiskDataset(tmp_path)
    (tmp_path / "y.npy").write_bytes(
        (tmp_path / "X.npy").read_bytes()[:-40]
    )  # truncated
    with pytest.raises(ValueError, match=r"y\.npy is not a readable"):
        data.DiskDataset(tmp_path)


def test_mismatched_files_and_bad_arrays_are_named(tmp_path):
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", Y[:5])
    with pytest.raises(ValueError, match=r"y\.npy must hold shape \(23,\)"):
        data.DiskDataset(tmp_path)
    np.save(tmp_path / "X.npy", Y)
    with pytest.raises(ValueError, match=r"X\.npy must hold a 2-D array"):
        data.DiskDataset(tmp_path)
    with pytest.raises(ValueError, match="y must have shape"):
        data.DiskDataset.save(tmp_path, X, Y[:5])
    with pytest.raises(ValueError, match="batch_size must be <= n_samples"):
        next(data.DiskDataset.save(tmp_path, X, Y).minibatches(24))


@pytest.mark.parametrize(
    "bad_y, match",
    [
        (np.array(["a"] * 23), "<U1"),
        (np.ones(23, dtype=complex), "complex128"),
        (np.ones(23, dtype=bool), "bool"),
        (
            np.array(["2026-11-30"] * 23, dtype="datetime64[D]"),
            r"datetime64\[D\]",
        ),
    ],
)
def test_a_file_of_non_numbers_is_refused_naming_it(tmp_path, bad_y, match):
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", bad_y)
    with pytest.raises(
        ValueError,
        match="y.npy must hold integer or floating-point numbers, got "
        f"dtype {match}",
    ):
        data.DiskDataset(tmp_path)


def test_an_empty_file_is_refused_naming_it(tmp_path):
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "y.npy").write_bytes(b"")
    with pytest.raises(
        ValueError, match=r"y.npy is not a readable .npy array file"
    ):
        data.DiskDataset(tmp_path)

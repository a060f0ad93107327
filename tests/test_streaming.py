"""gdbook.streaming: SGD streamed from disk equals SGD in memory, on the same
batches, while the process holds a batch rather than the file.

The functions sent to a measuring process are defined at module level: it
starts by spawn, which imports this module to find them.
"""

import time

import numpy as np
import pytest

from gdbook import data, streaming

MB = 1_000_000


def touch(megabytes):
    """Allocate and write ``megabytes`` MB; return the bytes."""
    block = np.zeros(megabytes * MB // 8)
    block[:: 4096 // 8] = 1.0  # one write per page: every page resident
    return block.nbytes


def fail():
    raise ArithmeticError("fails on purpose")


def sleep(seconds):
    time.sleep(seconds)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream")
    return streaming.write_least_squares(folder, 3000, 20, seed=1)


def reference_sgd(X, y, lr, batch_size, epochs, seed):
    """Plain in-memory SGD on the batches of data.minibatches."""
    rng, w, losses = np.random.default_rng(seed), np.zeros(X.shape[1]), []
    for _ in range(epochs):
        for idx in data.minibatches(len(y), batch_size, seed=rng):
            w = w - lr * X[idx].T @ (X[idx] @ w - y[idx]) / len(idx)
        losses.append(0.5 * np.mean((X @ w - y) ** 2))
    return w, np.array(losses)


def test_written_data_are_float64_files_independent_of_the_chunking(
    tmp_path,
):
    one = streaming.write_least_squares(tmp_path / "a", 50, 3, chunk_rows=7)
    two = streaming.write_least_squares(tmp_path / "b", 50, 3, chunk_rows=64)
    assert (one.n_samples, one.n_features) == (50, 3)
    assert one.X.dtype == np.float64 and one.y.dtype == np.float64
    np.testing.assert_array_equal(one.X, two.X)
    np.testing.assert_array_equal(one.y, two.y)
    other = streaming.write_least_squares(tmp_path / "c", 50, 3, seed=1)
    assert not np.array_equal(one.X, other.X)
    # the noise is what least squares cannot fit
    exact = streaming.write_least_squares(tmp_path / "d", 50, 3, noise=0.0)
    w = np.linalg.lstsq(exact.X, exact.y, rcond=None)[0]
    np.testing.assert_allclose(exact.X @ w, exact.y, atol=1e-12)


def test_every_way_of_reading_equals_in_memory_sgd_on_the_same_batches(
    stored,
):
    X, y = np.load(stored.folder / "X.npy"), np.load(stored.folder / "y.npy")
    w, losses = reference_sgd(X, y, 0.1, 64, 3, seed=5)
    for read in streaming.READS:
        run = streaming.least_squares_sgd(stored, 0.1, 64, 3, 5, read)
        np.testing.assert_allclose(run.weights, w, rtol=1e-12, atol=0)
        np.testing.assert_allclose(run.losses, losses, rtol=1e-12, atol=0)
    assert len(losses) == 3 and losses[-1] < losses[0] < 0.5 * np.mean(y**2)
    # the folder works as well as the data set
    again = streaming.least_squares_sgd(str(stored.folder), 0.1, 64, 3, 5)
    np.testing.assert_array_equal(again.weights, run.weights)


def test_the_last_batch_may_be_smaller(stored):
    # 3000 rows in batches of 7: the last one has 4
    X, y = np.load(stored.folder / "X.npy"), np.load(stored.folder / "y.npy")
    w, _ = reference_sgd(X, y, 0.05, 7, 1, seed=0)
    run = streaming.least_squares_sgd(stored, 0.05, 7)
    np.testing.assert_allclose(run.weights, w, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"lr": 0.0}, ValueError, "lr must be > 0"),
        ({"lr": float("nan")}, ValueError, "lr must be finite"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 3001}, ValueError, "batch_size"),
        ({"epochs": 0}, ValueError, "epochs must be >= 1"),
        ({"epochs": 1.5}, TypeError, "epochs must be an integer"),
        ({"read": "mmap"}, ValueError, "read must be one of"),
    ],
)
def test_bad_options_are_named(stored, options, error, message):
    arguments = dict(lr=0.1, batch_size=10) | options
    with pytest.raises(error, match=message):
        streaming.least_squares_sgd(stored, **arguments)


def test_bad_data_are_named(tmp_path):
    with pytest.raises(TypeError, match="data must be a DiskDataset"):
        streaming.least_squares_sgd(np.zeros((3, 2)), 0.1, 1)
    with pytest.raises(FileNotFoundError, match="X.npy does not exist"):
        streaming.least_squares_sgd(tmp_path, 0.1, 1)
    folder = tmp_path / "fortran"
    folder.mkdir()
    np.save(folder / "X.npy", np.asfortranarray(np.ones((4, 2))))
    np.save(folder / "y.npy", np.ones(4))
    with pytest.raises(ValueError, match="C order"):
        streaming.least_squares_sgd(folder, 0.1, 2)
    for name, value, message in [
        ("n_samples", 0, "n_samples must be >= 1"),
        ("noise", -1.0, "noise must be >= 0"),
        ("chunk_rows", 0, "chunk_rows must be >= 1"),
    ]:
        options = dict(n_samples=10, n_features=2) | {name: value}
        with pytest.raises(ValueError, match=message):
            streaming.write_least_squares(tmp_path / "w", **options)


def test_the_high_water_mark_rises_with_memory_written():
    before = streaming.high_water_bytes()
    assert before > 0
    touch(40)
    assert streaming.high_water_bytes() >= before + 20 * MB


def test_peak_memory_sees_an_allocation_in_a_fresh_process():
    measured = streaming.peak_memory(touch, 60)
    assert measured.result == 60 * MB
    # the peak rises by the block, less what had been freed before
    assert 50 * MB <= measured.added_bytes < 80 * MB
    # a fresh process: the interpreter and numpy, not this one's memory
    assert measured.start_bytes < 200 * MB


def test_streaming_holds_a_batch_where_the_others_hold_the_file(tmp_path):
    stored = streaming.write_least_squares(tmp_path, 40_000, 100)  # 32 MB
    size = stored.X.nbytes
    runs = {
        read: streaming.peak_memory(
            streaming.least_squares_sgd, str(tmp_path), 0.1, 100, 1, 0, read
        )
        for read in streaming.READS
    }
    losses = [run.result.losses for run in runs.values()]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-12)
    np.testing.assert_allclose(losses[0], losses[2], rtol=1e-12)
    assert runs["stream"].added_bytes < size / 2
    assert runs["memory"].added_bytes > size
    # the memory map's pages touched stay resident (no memory pressure here)
    assert runs["memmap"].added_bytes > size / 2


def test_peak_memory_errors_are_clear():
    with pytest.raises(ValueError, match="fn must be picklable"):
        streaming.peak_memory(lambda: 0)
    with pytest.raises(TypeError, match="fn must be callable"):
        streaming.peak_memory(3)
    with pytest.raises(ValueError, match="timeout must be > 0"):
        streaming.peak_memory(fail, timeout=0)
    with pytest.raises(RuntimeError, match="ArithmeticError: fails on"):
        streaming.peak_memory(fail)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="sleep did not finish within"):
        streaming.peak_memory(sleep, 60, timeout=3)
    assert time.monotonic() - start < 15

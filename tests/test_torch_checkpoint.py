"""gdbook.torch.checkpoint: concurrent writers and readers, the run's lock, and
a full disk."""

import errno
import io
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from gdbook.torch import checkpoint  # noqa: E402

RUN = {"run": 1}  # the fingerprint of these tests' checkpoints
WRITER = """
import sys, torch
from gdbook.torch import checkpoint
print("ready", flush=True)
sys.stdin.readline()
for i in range(int(sys.argv[2])):
    checkpoint.save(
        sys.argv[1], {"run": 1}, weights=torch.full((10_000,), float(i))
    )
"""
HOLDER = """
import sys
from gdbook.torch import checkpoint
with checkpoint.lock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


def python(script, *args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)], **kwargs
    )


def temporary_files(folder):
    return sorted(
        path.name for path in folder.iterdir() if path.name.endswith(".tmp")
    )


def test_two_writers_and_a_reader_never_meet_a_partial_file(tmp_path):
    """Each write goes to its own temporary file, renamed over the checkpoint:
    two processes writing one path both finish, and every load beside them
    reads a whole checkpoint."""
    path = tmp_path / "run.pt"
    writers = [
        python(
            WRITER,
            path,
            40,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    assert [writer.stdout.readline() for writer in writers] == ["ready\n"] * 2
    for writer in writers:  # start writing together
        writer.stdin.close()
    loads = 0
    while any(writer.poll() is None for writer in writers):
        if path.exists():
            weights = checkpoint.load(path, RUN)["weights"]
            assert torch.equal(weights, weights[:1].expand_as(weights)), (
                "a mix of two writes"
            )
            loads += 1
    assert [writer.wait() for writer in writers] == [0, 0], [
        writer.stderr.read() for writer in writers
    ]
    assert loads > 0 and temporary_files(tmp_path) == []


def test_a_second_run_on_a_locked_path_fails_naming_the_holder(tmp_path):
    path = tmp_path / "run.pt"
    holder = python(
        HOLDER, path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(
            checkpoint.CheckpointError,
            match=rf"{path}: in use by another run \(pid {holder.pid}\)",
        ):
            with checkpoint.lock(path):
                pass
    finally:
        holder.stdin.close()
    assert holder.wait() == 0
    with checkpoint.lock(path):  # released when its holder ends
        assert (tmp_path / "run.pt.lock").read_text() == f"{os.getpid()}\n"
    assert not (tmp_path / "run.pt.lock").exists()


@pytest.mark.parametrize(
    "fcntl", [checkpoint.fcntl, None], ids=["flock", "exclusive file"]
)
def test_the_lock_is_exclusive_within_a_process_too(
    tmp_path, monkeypatch, fcntl
):
    """Without fcntl (Windows), the lock is a file created exclusively, holding
    the pid."""
    monkeypatch.setattr(checkpoint, "fcntl", fcntl)
    path = tmp_path / "run.pt"
    with checkpoint.lock(path):
        with pytest.raises(
            checkpoint.CheckpointError, match=rf"pid {os.getpid()}"
        ):
            with checkpoint.lock(path):
                pass
    with checkpoint.lock(path):
        pass
    assert list(tmp_path.iterdir()) == []


def test_the_lock_holder_removes_temporary_files_of_killed_writers(tmp_path):
    path, stale, other = (
        tmp_path / "run.pt",
        tmp_path / "run.pt.k1ll3d_x.tmp",
        tmp_path / "b.pt.k1ll3d_x.tmp",
    )
    stale.write_bytes(b"half a checkpoint")
    other.write_bytes(b"another run's")
    with checkpoint.lock(path):
        assert not stale.exists() and other.exists()


def test_a_full_disk_leaves_no_temporary_file_and_names_the_path(
    tmp_path, monkeypatch
):
    path = tmp_path / "run.pt"
    checkpoint.save(path, RUN, weights=torch.zeros(3))
    before = path.read_bytes()

    class FullDisk(io.FileIO):
        def write(self, data):
            super().write(bytes(data)[:100])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(
        checkpoint.os, "fdopen", lambda fd, mode: FullDisk(fd, mode)
    )
    with pytest.raises(
        OSError, match=rf"No space left on device.*{path}"
    ) as error:
        checkpoint.save(path, RUN, weights=torch.ones(1000))
    assert error.value.errno == errno.ENOSPC and error.value.filename == str(
        path
    )
    assert temporary_files(tmp_path) == [] and path.read_bytes() == before

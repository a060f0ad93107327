"""Checkpoints that survive a kill at any moment, refuse to be loaded into the
wrong run, and have one writer.

``save`` writes to a temporary file of its own in the same folder
(``<path>.<random>.tmp``), flushes and fsyncs it, then renames it over ``path``
(``os.replace`` is atomic), so ``path`` always holds either the previous
checkpoint or the new one, never a half-written file, whoever reads it and
however many write it. ``load`` checks the format tag, the format version and a
fingerprint of the run (model, optimizer, data, loss), and raises
:class:`CheckpointError` naming the file and what differs, never silently
starting over. ``lock`` makes a training run the only writer of its checkpoint:
a second run on the same path fails at once, naming the process that holds it.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import tempfile
from pathlib import Path

import torch

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

FORMAT = "gdbook.torch.checkpoint"
# 2: the fingerprint holds the data's content hash, the loss function and the
# scheduler
VERSION = 2


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, that was written by a different run,
    or that another run holds."""


def save(path: str | os.PathLike, fingerprint: dict, **contents) -> None:
    """Atomically write ``contents`` with ``fingerprint``, the format tag and
    the version to ``path``.

    A failed write (a full disk) removes its temporary file and raises
    ``OSError`` naming ``path``."""
    path = Path(path)
    # serialised first: torch.save would turn a failed write into a
    # RuntimeError
    data = io.BytesIO()
    torch.save(
        {
            "format": FORMAT,
            "version": VERSION,
            "fingerprint": fingerprint,
            **contents,
        },
        data,
    )
    try:
        descriptor, tmp = tempfile.mkstemp(
            prefix=f"{path.name}.", suffix=".tmp", dir=path.parent
        )
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data.getbuffer())
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, path)
        except (
            BaseException
        ):  # a full disk, or a KeyboardInterrupt: leave no partial file behind
            os.unlink(tmp)
            raise
    except OSError as err:
        raise OSError(
            err.errno,
            f"cannot write the checkpoint: {err.strerror}",
            str(path),
        ) from err
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def load(path: str | os.PathLike, fingerprint: dict) -> dict:
    """The contents saved at ``path``, after checking that they belong to a run
    with ``fingerprint``."""
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except (
        Exception
    ) as err:  # torch raises many types for a truncated or foreign file
        raise CheckpointError(
            f"{path}: cannot be read as a checkpoint ({type(err).__name__}: "
            f"{err})"
        ) from err
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a gdbook checkpoint (no {FORMAT!r} format tag)"
        )
    if contents.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {contents.get('version')!r}; "
            f"this gdbook reads version {VERSION}"
        )
    saved = contents.get("fingerprint")
    if not isinstance(saved, dict):
        raise CheckpointError(
            f"{path}: damaged checkpoint (its fingerprint is a "
            f"{type(saved).__name__}, "
            "not a dict)"
        )
    for key, expected in fingerprint.items():
        if saved.get(key) != expected:
            raise CheckpointError(
                f"{path}: written by a different run: {key} "
                f"{_difference(saved.get(key), expected)}"
            )
    return contents


def _difference(saved, expected) -> str:
    """Where ``saved`` and ``expected`` differ, in words (the first differing
    entry of two lists)."""
    if (
        isinstance(saved, (list, tuple))
        and isinstance(expected, (list, tuple))
        and len(saved) == len(expected)
    ):
        i = next(
            i
            for i, (a, b) in enumerate(zip(saved, expected, strict=True))
            if a != b
        )
        saved, expected = saved[i], expected[i]
        return (
            f"entry {i} is {saved!r} in the checkpoint but {expected!r} in "
            "this run"
        )
    return f"is {saved!r} in the checkpoint but {expected!r} in this run"


@contextlib.contextmanager
def lock(path: str | os.PathLike):
    """Hold ``path`` for one run: the lock file ``<path>.lock`` holds this
    process's id, and another ``lock(path)``, in any process, raises
    :class:`CheckpointError` naming that id while this one lasts.

    Taken first, it also proves that the folder can be written to (else
    ``OSError`` naming it), and, as no other writer can be running, it removes
    the temporary files of writers that were killed. With ``fcntl`` (POSIX) the
    lock is ``flock``, which the system releases when its holder dies. Without
    it (Windows), the lock is the file's existence: one left by a killed run
    must be deleted by hand.
    """
    path = Path(path)
    lock_path = path.with_name(path.name + ".lock")
    descriptor = _acquire(path, lock_path)
    try:
        os.ftruncate(
            descriptor, 0
        )  # a killed holder's file may still hold its pid
        os.write(descriptor, f"{os.getpid()}\n".encode())
        for stale in path.parent.glob(f"{glob.escape(path.name)}.*.tmp"):
            stale.unlink(missing_ok=True)
        yield
    finally:
        _release(descriptor, lock_path)


def _acquire(path: Path, lock_path: Path) -> int:
    """An open descriptor of ``lock_path``, locked by this process."""
    while True:
        try:
            descriptor = os.open(
                lock_path,
                os.O_RDWR | os.O_CREAT | (0 if fcntl else os.O_EXCL),
                0o644,
            )
        except FileExistsError:
            raise _held(
                path, lock_path, f"; if it no longer runs, delete {lock_path}"
            ) from None
        except OSError as err:
            raise OSError(
                err.errno,
                f"cannot write the checkpoint {path.name} in its folder: "
                f"{err.strerror}",
                str(path.parent),
            ) from err
        if fcntl is None:
            return descriptor
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise _held(path, lock_path) from None
        try:
            if os.path.samestat(os.fstat(descriptor), os.stat(lock_path)):
                return descriptor
        except FileNotFoundError:
            pass
        # the holder removed the file between our open and flock: lock the new
        # one
        os.close(descriptor)


def _held(path: Path, lock_path: Path, advice: str = "") -> CheckpointError:
    """The error for ``path`` locked by another run, naming its process id as
    ``lock_path`` records it."""
    try:
        pid = lock_path.read_text().strip() or "unknown"
    except OSError:
        pid = "unknown"
    return CheckpointError(
        f"{path}: in use by another run (pid {pid}){advice}"
    )


def _release(descriptor: int, lock_path: Path) -> None:
    """Let go of the lock :func:`_acquire` took, and remove its file."""
    if (
        fcntl is None
    ):  # the file is the lock, and Windows cannot remove an open file
        os.close(descriptor)
        lock_path.unlink(missing_ok=True)
    # removed while still locked, so that whoever locks next locks a file that
    # stays
    else:
        lock_path.unlink(missing_ok=True)
        os.close(descriptor)

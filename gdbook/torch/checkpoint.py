"""Checkpoints that survive a kill at any moment, and refuse to be loaded into the wrong run.

``save`` writes to ``<path>.tmp`` in the same folder, flushes and fsyncs it, then renames it over
``path`` (``os.replace`` is atomic), so ``path`` always holds either the previous checkpoint or the
new one, never a half-written file. ``load`` checks the format tag, the format version and a
fingerprint of the run (model, optimizer, data), and raises :class:`CheckpointError` naming the file
and what differs, never silently starting over.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

FORMAT = "gdbook.torch.checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or that was written by a different run."""


def save(path: str | os.PathLike, fingerprint: dict, **contents) -> None:
    """Atomically write ``contents`` with ``fingerprint``, the format tag and the version to ``path``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as file:
        torch.save({"format": FORMAT, "version": VERSION, "fingerprint": fingerprint, **contents}, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def load(path: str | os.PathLike, fingerprint: dict) -> dict:
    """The contents saved at ``path``, after checking that they belong to a run with ``fingerprint``."""
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a truncated or foreign file
        raise CheckpointError(f"{path}: cannot be read as a checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a gdbook checkpoint (no {FORMAT!r} format tag)")
    if contents.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {contents.get('version')!r}; "
                              f"this gdbook reads version {VERSION}")
    saved = contents.get("fingerprint", {})
    for key, expected in fingerprint.items():
        if saved.get(key) != expected:
            raise CheckpointError(f"{path}: written by a different run: {key} {_difference(saved.get(key), expected)}")
    return contents


def _difference(saved, expected) -> str:
    """Where ``saved`` and ``expected`` differ, in words (the first differing entry of two lists)."""
    if isinstance(saved, (list, tuple)) and isinstance(expected, (list, tuple)) and len(saved) == len(expected):
        i = next(i for i, (a, b) in enumerate(zip(saved, expected)) if a != b)
        saved, expected = saved[i], expected[i]
        return f"entry {i} is {saved!r} in the checkpoint but {expected!r} in this run"
    return f"is {saved!r} in the checkpoint but {expected!r} in this run"

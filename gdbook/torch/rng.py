"""The state of every random number generator a training run may draw from, to
save and restore.

torch's CPU and CUDA generators (initialisation, dropout), NumPy's and Python's
global generators, and the run's own generator that shuffles the data. The
states are tensors and plain Python values, so a checkpoint holding them loads
with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import random

import numpy as np
import torch


def get_state(data_generator: torch.Generator) -> dict:
    """The states of all the generators, ``data_generator`` included."""
    name, keys, pos, has_gauss, cached_gaussian = np.random.get_state(
        legacy=True
    )
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all()
        if torch.cuda.is_available()
        else [],
        "numpy": {
            "name": name,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "python": random.getstate(),
        "data": data_generator.get_state(),
    }


def set_state(state: dict, data_generator: torch.Generator) -> None:
    """Put every generator, ``data_generator`` included, back in the ``state``
    from :func:`get_state`."""
    torch.set_rng_state(state["torch"])
    if (
        state["cuda"] and torch.cuda.is_available()
    ):  # a run moved from GPU to CPU has no CUDA state to set
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["name"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    random.setstate(state["python"])
    data_generator.set_state(state["data"])

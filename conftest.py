"""pytest set-up shared by the unit tests (tests/) and the notebook validation
(book/, via nbval)."""

import os

import pytest

# Progress bars would make notebook outputs differ between runs; kernels
# inherit this environment.
os.environ["TQDM_DISABLE"] = "1"
# Notebook kernels must pick matplotlib's inline backend themselves (Agg would
# print figure reprs instead).
os.environ.pop("MPLBACKEND", None)


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` when no CUDA device is present."""
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in gpu_items:
        item.add_marker(skip)

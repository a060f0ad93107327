"""The device the book's PyTorch code runs on."""

from __future__ import annotations

import torch


def device() -> torch.device:
    """``cuda`` (the current GPU) when one is present, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")

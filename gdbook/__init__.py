"""gdbook: the package behind the executable textbook on gradient descent.

NumPy reference code: :mod:`gdbook.problems`, :mod:`gdbook.optim`, :mod:`gdbook.schedules`,
:func:`gdbook.minimize`, :mod:`gdbook.theory`, :mod:`gdbook.plot`, :mod:`gdbook.data`.
The PyTorch path lives in ``gdbook.torch`` (imported separately, so ``import gdbook`` stays light).
"""

from . import data, optim, problems, schedules, theory
from .minimize import METHODS, OptimizeResult, minimize

__version__ = "0.1.0"

__all__ = ["data", "optim", "problems", "schedules", "theory", "minimize", "OptimizeResult", "METHODS"]

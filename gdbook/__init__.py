"""gdbook: the package behind the executable textbook on gradient descent.

NumPy reference code: :mod:`gdbook.problems` and :mod:`gdbook.models` (objectives), :mod:`gdbook.optim`,
:mod:`gdbook.momentum` and :mod:`gdbook.schedules` (first-order methods), :mod:`gdbook.linesearch` and
:mod:`gdbook.second_order`, :func:`gdbook.minimize` (runs any of them), :mod:`gdbook.theory` (the bounds),
:mod:`gdbook.gradcheck`, :mod:`gdbook.data`, and :mod:`gdbook.plot` (imported on demand: it loads matplotlib).
The PyTorch path lives in ``gdbook.torch`` (imported separately, so ``import gdbook`` stays light).
"""

from . import data, gradcheck, linesearch, models, momentum, optim, problems, schedules, second_order, theory
from .minimize import METHODS, OptimizeResult, minimize

__version__ = "0.1.0"

__all__ = ["data", "gradcheck", "linesearch", "models", "momentum", "optim", "problems", "schedules",
           "second_order", "theory", "minimize", "OptimizeResult", "METHODS"]

"""gdbook: the package behind the executable textbook on gradient descent.

NumPy reference code: :mod:`gdbook.problems` and :mod:`gdbook.models`
(objectives), :mod:`gdbook.optim`, :mod:`gdbook.momentum` and
:mod:`gdbook.schedules` (first-order methods), :mod:`gdbook.linesearch` and
:mod:`gdbook.second_order`, :func:`gdbook.minimize` (runs any of them, through
the protocol of :mod:`gdbook.methods`), :mod:`gdbook.theory` (the bounds),
:mod:`gdbook.stochastic` and :mod:`gdbook.online` (stochastic and online
settings), :mod:`gdbook.sweeps`, :mod:`gdbook.gradcheck`, :mod:`gdbook.data`,
:mod:`gdbook.evaluation` (splits and scores); and, imported on demand because
they load matplotlib, :mod:`gdbook.plot` and :mod:`gdbook.concept_map`. The
PyTorch path lives in ``gdbook.torch`` (imported separately, so
``import gdbook`` stays light).
"""

from . import (
    data,
    evaluation,
    gradcheck,
    linesearch,
    methods,
    models,
    momentum,
    online,
    optim,
    problems,
    schedules,
    second_order,
    stochastic,
    sweeps,
    theory,
)
from ._minimize import METHODS, OptimizeResult, Status, minimize

__version__ = "0.1.0"

__all__ = [
    "data",
    "evaluation",
    "gradcheck",
    "linesearch",
    "methods",
    "models",
    "momentum",
    "online",
    "optim",
    "problems",
    "schedules",
    "second_order",
    "stochastic",
    "sweeps",
    "theory",
    "minimize",
    "OptimizeResult",
    "Status",
    "METHODS",
]

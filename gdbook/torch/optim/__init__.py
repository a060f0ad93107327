"""PyTorch optimizers equal to torch.optim, written one readable tensor update
at a time, and their flat, fused versions (:mod:`gdbook.torch.optim.flat`) that
run at the memory-bandwidth limit.

``OPTIMIZERS`` maps lower-case names to the per-tensor classes, as
:data:`gdbook.optim.OPTIMIZERS` does; the other classes (ASGD, Rprop,
Adafactor, Muon, Lion, AdamWScheduleFree, LARS, LAMB) are exported beside it,
each equal to its NumPy reference of the same name in :mod:`gdbook.optim`.
"""

from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .flat import (
    FlatAdam,
    FlatAdamax,
    FlatAdamW,
    FlatLion,
    FlatNAdam,
    FlatSGD,
)
from .large_batch import LAMB, LARS
from .lion import Lion
from .muon import Muon
from .nadam import NAdam
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .schedule_free import AdamWScheduleFree
from .sgd import SGD

OPTIMIZERS = {
    cls.__name__.lower(): cls
    for cls in (
        SGD,
        Adagrad,
        RMSprop,
        Adadelta,
        Adam,
        AdamW,
        Adamax,
        NAdam,
        RAdam,
    )
}

__all__ = [
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adadelta",
    "Adam",
    "AdamW",
    "FlatAdam",
    "FlatAdamW",
    "FlatSGD",
    "FlatLion",
    "FlatAdamax",
    "FlatNAdam",
    "Adamax",
    "NAdam",
    "RAdam",
    "ASGD",
    "Rprop",
    "Adafactor",
    "Lion",
    "AdamWScheduleFree",
    "Muon",
    "LARS",
    "LAMB",
    "OPTIMIZERS",
]

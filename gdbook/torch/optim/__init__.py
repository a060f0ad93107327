"""PyTorch optimizers equal to torch.optim, written one readable tensor update
at a time, and their flat, fused versions (:mod:`gdbook.torch.optim.flat`) that
run at the memory-bandwidth limit.

``OPTIMIZERS`` maps lower-case names to the per-tensor classes, as
:data:`gdbook.optim.OPTIMIZERS`; LARS and LAMB, which torch.optim does not
have, are outside it (their references are :mod:`gdbook.optim.large_batch`).
"""

from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .flat import FlatAdam, FlatAdamW, FlatSGD
from .large_batch import LAMB, LARS
from .rmsprop import RMSprop
from .sgd import SGD

OPTIMIZERS = {
    cls.__name__.lower(): cls
    for cls in (SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW)
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
    "LARS",
    "LAMB",
    "OPTIMIZERS",
]

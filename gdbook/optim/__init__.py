"""NumPy optimizers with the functional protocol of :mod:`gdbook.optim.base`,
equal to torch.optim.

    opt = gdbook.optim.Adam(lr=1e-2)
    state = opt.init(x0)
    x, state = opt.step(x0, grad(x0), state)

``OPTIMIZERS`` maps lower-case names to the classes that take the common
hyper-parameters of torch.optim's Adam family and SGD (lr, weight_decay,
maximize); the others are exported beside it: ASGD, Rprop and Adafactor
(torch.optim's too), Muon (one matrix, needs its shape), Lion and
Schedule-Free AdamW (from outside torch.optim), LARS and LAMB (layer-wise
trust ratios for large batches, :mod:`gdbook.optim.large_batch`), Shampoo
(one matrix or vector, preconditioned by Kronecker factors);
:func:`by_name` is the one place that turns a method name
(``gdbook.minimize(..., method="adam")``,
``gdbook.sweeps.lr_sweep(..., method="gd")``) into a class.
"""

from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .base import Optimizer
from .large_batch import LAMB, LARS
from .lion import Lion
from .muon import Muon, newton_schulz
from .nadam import NAdam
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .schedule_free import AdamWScheduleFree
from .sgd import SGD
from .shampoo import Shampoo

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
NAMES = (
    "gd",
    *OPTIMIZERS,
)  # "gd", gradient descent, is SGD with its defaults: no momentum


def by_name(name: str) -> type[Optimizer]:
    """The optimizer class that ``name`` (one of :data:`NAMES`) stands for;
    "gd" is :class:`SGD`."""
    if name == "gd":
        return SGD
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(
            f"method must be one of {', '.join(NAMES)}; got {name!r}"
        )
    return OPTIMIZERS[name]


__all__ = [
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adadelta",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "ASGD",
    "Rprop",
    "Adafactor",
    "Lion",
    "AdamWScheduleFree",
    "Muon",
    "newton_schulz",
    "Shampoo",
    "LARS",
    "LAMB",
    "OPTIMIZERS",
    "NAMES",
    "by_name",
]

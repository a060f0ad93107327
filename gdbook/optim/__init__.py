"""NumPy optimizers with the functional protocol of :mod:`gdbook.optim.base`,
equal to torch.optim.

    opt = gdbook.optim.Adam(lr=1e-2)
    state = opt.init(x0)
    x, state = opt.step(x0, grad(x0), state)

LARS and LAMB (:mod:`gdbook.optim.large_batch`, layer-wise trust ratios for
large batches) are not in torch.optim and not in ``OPTIMIZERS``, which maps
lower-case names of torch.optim's algorithms to classes; :func:`by_name` is
the one place that turns a method name
(``gdbook.minimize(..., method="adam")``,
``gdbook.sweeps.lr_sweep(..., method="gd")``) into a class.
"""

from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .base import Optimizer
from .large_batch import LAMB, LARS
from .rmsprop import RMSprop
from .sgd import SGD

OPTIMIZERS = {
    cls.__name__.lower(): cls
    for cls in (SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW)
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
    "LARS",
    "LAMB",
    "OPTIMIZERS",
    "NAMES",
    "by_name",
]

"""NumPy optimizers with the functional protocol of :mod:`gdbook.optim.base`, equal to torch.optim.

    opt = gdbook.optim.Adam(lr=1e-2)
    state = opt.init(x0)
    x, state = opt.step(x0, grad(x0), state)

``OPTIMIZERS`` maps lower-case names to classes, for ``gdbook.minimize(..., method="adam")``.
"""

from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .base import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

OPTIMIZERS = {cls.__name__.lower(): cls for cls in (SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW)}

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "OPTIMIZERS"]

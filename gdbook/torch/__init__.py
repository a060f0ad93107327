"""gdbook's PyTorch side: optimizers equal to torch.optim, flat fused
optimizers at the GPU's memory-bandwidth limit, small models, and a training
loop with checkpoint/resume.

    import gdbook.torch as gt
    model = gt.MLP(8, hidden=(32,)).to(gt.device())
    optimizer = gt.FlatAdam(model.parameters(), lr=1e-2)
    history = gt.train(model, torch.nn.MSELoss(), (X, y), optimizer, epochs=10)

This is the only part of gdbook that imports torch; ``import gdbook`` does not
import it.
"""

from .checkpoint import CheckpointError
from .curvature import hessian_vector_product, sharpness, top_eigenpair
from .devices import device
from .models import (
    MLP,
    LinearRegression,
    LogisticRegression,
    MatrixFactorization,
    SmallCNN,
)
from .optim import (
    ASGD,
    LAMB,
    LARS,
    OPTIMIZERS,
    SGD,
    Adadelta,
    Adafactor,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    AdamWScheduleFree,
    FlatAdam,
    FlatAdamax,
    FlatAdamW,
    FlatLion,
    FlatNAdam,
    FlatSGD,
    Lion,
    Muon,
    NAdam,
    RAdam,
    RMSprop,
    Rprop,
)
from .precision import train_in_precision
from .training import DivergenceError, train

__all__ = [
    "device",
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
    "LinearRegression",
    "LogisticRegression",
    "MLP",
    "SmallCNN",
    "MatrixFactorization",
    "train",
    "train_in_precision",
    "CheckpointError",
    "DivergenceError",
    "hessian_vector_product",
    "sharpness",
    "top_eigenpair",
]

"""Momentum in the textbook (velocity) form, beside torch's form in
:class:`gdbook.optim.SGD`.

Textbook heavy ball (Polyak 1964; Sutskever et al. 2013, eq. 1):
    v <- beta v - lr g,   x <- x + v
torch.optim.SGD (and gdbook.optim.SGD):
    b <- beta b + g,      x <- x - lr b

With a constant lr, v_t = -lr b_t at every step, so the iterates are the same.
When lr changes, they are not: here a new lr scales only the new gradient,
while in torch's form it rescales the whole accumulated buffer. Nesterov's
method evaluates the gradient at a look-ahead point; :func:`nesterov_lookahead`
runs that form, whose look-ahead points are exactly the iterates of
``SGD(nesterov=True)``.
"""

from __future__ import annotations

import numpy as np

from . import _validate
from .optim.base import LearningRate, Optimizer


class HeavyBall(Optimizer):
    """Polyak's heavy ball, textbook form: v <- momentum * v - lr_t * g, x <-
    x + v (v starts at 0).

    Equivalently x_{t+1} = x_t - lr_t grad f(x_t) + momentum (x_t - x_{t-1}).
    Sources: Polyak (1964); Sutskever, Martens, Dahl & Hinton, ICML (2013), eq.
    (1).
    """

    def __init__(self, lr: LearningRate = 1e-3, momentum: float = 0.9):
        super().__init__(lr)
        self.momentum = _validate.real("momentum", momentum, low=0.0)

    def _init_state(self, x0: np.ndarray) -> dict:
        return {"velocity": np.zeros_like(x0)}

    def _update(self, x, g, state, lr):
        v = self.momentum * state["velocity"] - lr * g
        return x + v, {"velocity": v}


def nesterov_lookahead(
    grad, x0, lr: float, momentum: float, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Nesterov's method with constant momentum, in look-ahead form (Nesterov
    1983; Sutskever et al. 2013, eq. 2):

        y_t = x_t + momentum * v_t,
        v_{t+1} = momentum * v_t - lr * grad(y_t),
        x_{t+1} = x_t + v_{t+1}

    i.e. x_{t+1} = y_t - lr grad(y_t) with y_t = x_t + momentum
    (x_t - x_{t-1}). Returns the arrays (steps + 1, dim) of the iterates x_t
    and of the look-ahead points y_t (y_0 = x_0, since v_0 = 0).
    """
    x = _validate.vector("x0", x0)
    lr = _validate.real("lr", lr, low=0.0)
    momentum = _validate.real("momentum", momentum, low=0.0)
    steps = _validate.integer("steps", steps, low=0)
    v = np.zeros_like(x)
    xs, ys = [x], [x]
    for _ in range(steps):
        g = _validate.same_shape("grad(y)", grad(x + momentum * v), x)
        v = momentum * v - lr * g
        x = x + v
        xs.append(x)
        ys.append(x + momentum * v)
    return np.array(xs), np.array(ys)

"""The one protocol that :func:`gdbook.minimize` runs, for every method of the
book.

A method is a value object with

    state = method.init(problem, x0)
    x, step_size, state = method.step(problem, x, state)

``problem`` is a :class:`gdbook.problems.Counted`: a method asks it for f, grad
f or the Hessian at any point it needs, and asking again for the latest point's
value or gradient costs nothing. So a line search that evaluated f and grad f
at the point it accepted, and the loop that records that point, share one
evaluation. ``step_size`` is the step taken along the method's direction: the
learning rate of a first-order method, the accepted step length of a line
search.

The methods: :class:`FirstOrder` (any :mod:`gdbook.optim` optimizer, on full or
mini-batch gradients), :class:`gdbook.linesearch.ArmijoGD`,
:class:`gdbook.second_order.Newton` and :class:`gdbook.second_order.LBFGS`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ._parameters import ShowsParameters
from .optim import Optimizer


class Method(ShowsParameters):
    """Base class of the protocol: ``init(problem, x) -> state``,
    ``step(problem, x, state) -> (x, step_size, state)``, never modifying ``x``
    or ``state`` in place."""

    def init(self, problem, x: np.ndarray) -> dict:
        return {}

    def step(
        self, problem, x: np.ndarray, state: dict
    ) -> tuple[np.ndarray, float, dict]:
        raise NotImplementedError


def clip_by_norm(g: np.ndarray, max_norm: float) -> np.ndarray:
    """``g`` scaled down to norm ``max_norm`` when it is longer, as
    ``torch.nn.utils.clip_grad_norm_`` does (the same formula, eps
    included):

        g <- g * min(1, max_norm / (||g|| + 1e-6))

    Clipping bounds each step by lr * max_norm whatever the gradient, the
    usual guard against rare huge gradients (Pascanu, Mikolov & Bengio, "On
    the difficulty of training recurrent neural networks", ICML 2013)."""
    coefficient = max_norm / (np.linalg.norm(g) + 1e-6)
    return g * coefficient if coefficient < 1.0 else g


class FirstOrder(Method):
    """A functional optimizer of :mod:`gdbook.optim` as a method: each step
    feeds it the full gradient, or a mini-batch gradient when ``batches``
    yields sample indices (it yields None for the full gradient), clipped to
    norm ``clip_norm`` when that is given (:func:`clip_by_norm`)."""

    def __init__(
        self,
        optimizer: Optimizer,
        batches: Iterator[np.ndarray | None],
        clip_norm: float | None = None,
    ):
        self.optimizer, self.batches = optimizer, batches
        self.clip_norm = clip_norm

    def init(self, problem, x):
        return self.optimizer.init(x)

    def step(self, problem, x, state):
        batch = next(self.batches)
        g = problem.grad(x) if batch is None else problem.grad(x, batch)
        if self.clip_norm is not None:
            g = clip_by_norm(g, self.clip_norm)
        x_new, state, lr = self.optimizer.step_and_lr(x, g, state)
        return x_new, lr, state

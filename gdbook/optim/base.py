"""The functional optimizer protocol shared by every NumPy optimizer in gdbook.

An optimizer is a value object holding hyper-parameters. It never mutates its
inputs:

    state = opt.init(x0)
    x, state = opt.step(x, g, state)    # g = gradient of f at x

``state`` is a dict of NumPy arrays plus ``"step"``, the number of steps taken
so far. ``lr`` is a non-negative float or a schedule ``t -> lr`` (see
:mod:`gdbook.schedules`), called with ``t = state["step"]``, i.e. ``t = 0`` for
the first step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import _validate
from .._parameters import ShowsParameters

LearningRate = float | Callable[[int], float]


class Optimizer(ShowsParameters):
    """Base class: validates inputs, evaluates the learning rate, delegates the
    arithmetic to ``_update``."""

    def __init__(self, lr: LearningRate):
        self.lr = lr if callable(lr) else _validate.real("lr", lr, low=0.0)

    def lr_at(self, t: int) -> float:
        """The learning rate used by step ``t`` (0-based); a schedule's value
        is checked like a constant."""
        if not callable(self.lr):
            return self.lr
        return _validate.real(
            f"lr (schedule value at step {t})", self.lr(t), low=0.0
        )

    def init(self, x0) -> dict:
        """The optimizer state before the first step at ``x0``."""
        x0 = _validate.vector("x0", x0)
        return {"step": 0, **self._init_state(x0)}

    def step(self, x, g, state: dict) -> tuple[np.ndarray, dict]:
        """One update from ``x`` with gradient ``g``; returns the new point and
        a new state dict."""
        x_new, new_state, _ = self.step_and_lr(x, g, state)
        return x_new, new_state

    def step_and_lr(self, x, g, state: dict) -> tuple[np.ndarray, dict, float]:
        """:meth:`step`, also returning the learning rate it used (a schedule
        is evaluated once per step)."""
        x = _validate.vector("x", x)
        g = _validate.same_shape("g", g, x)
        self._check_state(state, x)
        t = state["step"]
        lr = self.lr_at(t)
        x_new, new_state = self._update(x, g, state, lr)
        new_state["step"] = t + 1
        return x_new, new_state, lr

    def _state_shapes(self, x: np.ndarray) -> dict | None:
        """The shape of each array in the state for x where the state is
        factored (matrices of their own shapes, e.g. Adafactor, Shampoo);
        None: every array is shaped like x."""
        return None

    def _check_state(self, state, x: np.ndarray) -> None:
        """Raise unless ``state`` is one that init() or step() returned for an
        x of this shape: a state built for another x would broadcast
        silently."""
        shapes = self._state_shapes(x)
        if (
            not isinstance(state, dict)
            or "step" not in state
            or (shapes is not None and state.keys() != {"step", *shapes})
        ):
            raise TypeError(
                "state must be the dict returned by init() or step()"
            )
        for key, value in state.items():
            if key == "step" or (
                shapes is None and not isinstance(value, np.ndarray)
            ):
                continue
            expected = x.shape if shapes is None else shapes[key]
            if np.shape(value) != expected:
                raise ValueError(
                    f"state[{key!r}] has shape {np.shape(value)} but x has "
                    f"shape {x.shape}"
                    + ("" if shapes is None else f", which needs {expected}")
                    + ": use the state that init(x0) returned for this "
                    "problem"
                )

    def _init_state(self, x0: np.ndarray) -> dict:
        return {}

    def _update(
        self, x: np.ndarray, g: np.ndarray, state: dict, lr: float
    ) -> tuple[np.ndarray, dict]:
        raise NotImplementedError


def regularized_gradient(
    x: np.ndarray, g: np.ndarray, weight_decay: float, maximize: bool
) -> np.ndarray:
    """The direction torch.optim feeds to its update rules: ``g`` (negated to
    maximize) plus the L2 term.

    Weight decay here is coupled: it adds ``weight_decay * x``, the gradient of
    ``weight_decay/2 * ||x||^2``.
    """
    g = -g if maximize else g
    return g + weight_decay * x if weight_decay else g


def decay_and_direction(
    optimizer, x: np.ndarray, g: np.ndarray, lr: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(x, d)`` after ``optimizer``'s weight decay, as NAdam and RAdam take
    it (from its ``weight_decay``, ``decoupled_weight_decay``, ``maximize``).

    Decoupled (Loshchilov & Hutter 2019): x <- (1 - lr * weight_decay) x and d
    the signed gradient; coupled: x unchanged, d :func:`regularized_gradient`.
    """
    if optimizer.decoupled_weight_decay:
        x = x * (1 - lr * optimizer.weight_decay)
        return x, regularized_gradient(x, g, 0.0, optimizer.maximize)
    return x, regularized_gradient(
        x, g, optimizer.weight_decay, optimizer.maximize
    )


def adam_moments(
    state: dict, d: np.ndarray, betas: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Adam's moment estimates after the direction d (Kingma & Ba 2015,
    Algorithm 1): m <- beta1 m + (1 - beta1) d, computed as torch's lerp
    m + (1 - beta1)(d - m), and v <- beta2 v + (1 - beta2) d^2."""
    beta1, beta2 = betas
    m = state["exp_avg"] + (1 - beta1) * (d - state["exp_avg"])
    v = beta2 * state["exp_avg_sq"] + (1 - beta2) * d * d
    return m, v

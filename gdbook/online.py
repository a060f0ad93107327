"""Online convex optimisation: losses revealed one round at a time, and the
regret they leave.

At round t = 1, 2, ..., T the learner plays x_t in a convex set F, then sees
the convex loss f_t and pays f_t(x_t). Its regret after T rounds is

    R_T = sum_{t<=T} f_t(x_t) - min_{x in F} sum_{t<=T} f_t(x),

the loss it paid beyond that of the best fixed point chosen in hindsight. A
method is said to converge in this setting when the average regret R_T / T
tends to 0 (Zinkevich, ICML 2003; Reddi, Kale & Kumar, "On the Convergence of
Adam and Beyond", ICLR 2018, Section 2).

:func:`run` plays any :mod:`gdbook.optim` optimizer with the projected update
x_{t+1} = Pi_F(x_t - step_t), where step_t is the optimizer's own move from the
gradient of f_t at x_t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate
from .optim import Optimizer


class ReddiCounterexample:
    r"""The online problem of Reddi, Kale & Kumar (ICLR 2018), Section 3, on
    which Adam fails.

    F = [-1, 1] and, for rounds t = 1, 2, 3, ...,

        f_t(x) = C x  if t mod 3 == 1,   f_t(x) = -x  otherwise,   with C > 2.

    Every three rounds the losses add up to (C - 2) x, so the best fixed point
    is x = -1 for every T. The paper (Section 3, and Theorem 1 with step sizes
    alpha_t = alpha / sqrt(t)) shows that Adam with beta1 = 0 and
    beta2 = 1 / (1 + C^2), the pair returned by :attr:`adam_betas`, drifts to
    x = +1, the worst point, so that R_T / T does not tend to 0; AMSGrad's
    running maximum of v repairs this.
    """

    dim = 1
    lower, upper = -1.0, 1.0
    x_star = np.array([-1.0])

    def __init__(self, C: float = 3.0):
        self.C = _validate.real("C", C, low=2.0, low_open=True)

    @property
    def adam_betas(self) -> tuple[float, float]:
        """(beta1, beta2) = (0, 1 / (1 + C^2)): the parameters of the paper's
        Section 3."""
        return 0.0, 1.0 / (1.0 + self.C**2)

    def coefficients(self, rounds: int) -> np.ndarray:
        """The slopes c_1, ..., c_T of the linear losses f_t(x) = c_t x."""
        t = np.arange(1, _validate.integer("rounds", rounds, low=1) + 1)
        return np.where(t % 3 == 1, self.C, -1.0)

    def value(self, t: int, x) -> float:
        """f_t(x)."""
        return float(self._slope(t) * self._point(x)[0])

    def grad(self, t: int, x) -> np.ndarray:
        """The gradient of f_t, constant in x: (C,) on rounds t = 1, 4, 7, ...,
        else (-1,)."""
        self._point(x)
        return np.array([self._slope(t)])

    def project(self, x) -> np.ndarray:
        """The Euclidean projection onto F = [-1, 1] (in one dimension, also
        Adam's weighted projection)."""
        return np.clip(self._point(x), self.lower, self.upper)

    def best_fixed_losses(self, rounds: int) -> np.ndarray:
        """min over x in F of sum_{s<=t} f_s(x), for t = 1, ..., rounds (a
        linear loss is least at an end of F)."""
        total = np.cumsum(self.coefficients(rounds))
        return np.minimum(total * self.lower, total * self.upper)

    def _slope(self, t) -> float:
        t = _validate.integer("t", t, low=1)
        return self.C if t % 3 == 1 else -1.0

    def _point(self, x) -> np.ndarray:
        return _validate.vector("x", np.atleast_1d(x), dim=self.dim)

    def __repr__(self) -> str:
        return f"ReddiCounterexample(C={self.C})"


@dataclass
class OnlineResult:
    """A projected online run of ``rounds`` = T rounds.

    ``x`` (T+1, dim): x_1, ..., x_{T+1}, the points played (the last one
    unplayed); ``loss`` (T,): f_t(x_t); ``step`` (T, dim): the optimizer's move
    x_t - (its proposal) before projection; ``regret`` (T,): R_t;
    ``average_regret`` (T,): R_t / t.
    """

    x: np.ndarray
    loss: np.ndarray
    step: np.ndarray
    regret: np.ndarray
    average_regret: np.ndarray


def run(optimizer: Optimizer, problem, rounds: int, x0=None) -> OnlineResult:
    """Play ``optimizer`` on the online ``problem`` for ``rounds`` rounds from
    x_1 = ``x0``.

    Round t pays f_t(x_t), then sets x_{t+1} = project(x_t - step_t), where
    ``optimizer.step`` proposes x_t - step_t from grad f_t(x_t). ``x0``
    defaults to the upper end of F (x_1 = 1, as in the proof of Reddi et al.'s
    Theorem 1). ``problem`` needs ``value(t, x)``, ``grad(t, x)``,
    ``project(x)`` and ``best_fixed_losses(T)``, and ``dim`` and ``upper``, as
    :class:`ReddiCounterexample` has.
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            "optimizer must be a gdbook.optim.Optimizer, got "
            f"{type(optimizer).__name__}"
        )
    rounds = _validate.integer("rounds", rounds, low=1)
    if x0 is None:
        x0 = np.full(problem.dim, problem.upper)
    x = problem.project(
        _validate.vector("x0", np.atleast_1d(x0), dim=problem.dim)
    )
    state = optimizer.init(x)
    xs, losses, steps = [x], np.empty(rounds), np.empty((rounds, problem.dim))
    for t in range(1, rounds + 1):
        losses[t - 1] = problem.value(t, x)
        proposal, state = optimizer.step(x, problem.grad(t, x), state)
        steps[t - 1] = x - proposal
        x = problem.project(proposal)
        xs.append(x)
    regret = np.cumsum(losses) - problem.best_fixed_losses(rounds)
    return OnlineResult(
        np.array(xs), losses, steps, regret, regret / np.arange(1, rounds + 1)
    )

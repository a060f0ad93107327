"""Rprop: one step size per coordinate, grown while the gradient keeps its
sign and shrunk when it flips; the gradient's size is not used."""

from __future__ import annotations

import numpy as np

from .. import _validate
from .base import LearningRate, Optimizer


def _pair(name: str, value) -> tuple[float, float]:
    """``value`` as a pair of finite reals, or raise naming ``name``."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair of numbers, got {value!r}")
    return tuple(
        _validate.real(f"{name}[{i}]", v) for i, v in enumerate(value)
    )


class Rprop(Optimizer):
    r"""Rprop, as in ``torch.optim.Rprop``.

    With ``g`` negated when ``maximize``, ``etas = (eta-, eta+)`` and
    ``step_sizes = (s_min, s_max)``, step t = 1, 2, ... is

        f  =  eta+   where g * g_prev > 0   (same sign: accelerate)
              eta-   where g * g_prev < 0   (sign flip: overshot, slow down)
              1      elsewhere
        s  <- clip(f * s, s_min, s_max)
        g  <- 0      where g * g_prev < 0   (and no move there this step)
        x  <- x - sign(g) * s
        g_prev <- g

    starting from ``s = lr`` (the learning rate of the first step; later
    values of a schedule are not used) and ``g_prev = 0``. This is the
    variant without weight backtracking ("Rprop-"), as in torch.optim.

    Sources: Riedmiller & Braun, "A Direct Adaptive Method for Faster
    Backpropagation Learning: The RPROP Algorithm" (IEEE International
    Conference on Neural Networks, 1993); Igel & Hüsken, "Empirical
    Evaluation of the Improved Rprop Learning Algorithms" (Neurocomputing 50,
    2003) for the variants' names; the algorithm box of ``torch.optim.Rprop``.
    """

    def __init__(
        self,
        lr: LearningRate = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        maximize: bool = False,
    ):
        super().__init__(lr)
        eta_minus, eta_plus = _pair("etas", etas)
        if not 0 < eta_minus < 1 < eta_plus:
            raise ValueError(
                "etas must be (eta_minus, eta_plus) with 0 < eta_minus < 1 "
                f"< eta_plus, got {etas!r}"
            )
        self.etas = (eta_minus, eta_plus)
        s_min, s_max = _pair("step_sizes", step_sizes)
        if not 0 <= s_min <= s_max:
            raise ValueError(
                "step_sizes must be (min, max) with 0 <= min <= max, got "
                f"{step_sizes!r}"
            )
        self.step_sizes = (s_min, s_max)
        self.maximize = _validate.flag("maximize", maximize)

    def _init_state(self, x0: np.ndarray) -> dict:
        return {
            "prev": np.zeros_like(x0),
            "step_size": np.full_like(x0, self.lr_at(0)),
        }

    def _update(self, x, g, state, lr):
        g = -g if self.maximize else g
        eta_minus, eta_plus = self.etas
        sign = np.sign(g * state["prev"])
        factor = np.where(sign > 0, eta_plus, np.where(sign < 0, eta_minus, 1))
        step_size = np.clip(state["step_size"] * factor, *self.step_sizes)
        g = np.where(sign < 0, 0.0, g)
        return x - np.sign(g) * step_size, {"prev": g, "step_size": step_size}

"""Learning-rate schedules: picklable callables ``t -> lr``, with t = 0 for the
first step.

Pass one as ``lr`` to any optimizer in :mod:`gdbook.optim`; step t uses
``schedule(t)``.

- :class:`constant` -- the fixed step of the convergence theorems for smooth
  (strongly) convex f, e.g. lr = 1/L; with stochastic gradients it converges
  only to a noise ball around the minimum.
- :class:`step_decay` -- multiply by ``gamma`` every ``step_size`` steps: the
  classic piecewise constant schedule of deep learning
  (``torch.optim.lr_scheduler.StepLR``).
- :class:`exponential` -- multiply by ``gamma`` every step (``ExponentialLR``).
  The sum of its steps is finite, so on its own it can stop short of the
  minimum.
- :class:`inverse_time` -- ``lr / (1 + decay*t)**power``: the Robbins--Monro
  decay that makes SGD converge despite gradient noise (``LambdaLR`` with that
  factor).
- :class:`cosine` -- half a cosine from ``lr`` down to ``lr_min`` over
  ``t_max`` steps (``CosineAnnealingLR`` for t <= t_max), then ``lr_min``.
- :class:`linear_warmup` -- a linear ramp up to a wrapped schedule, for methods
  such as Adam whose first steps are unreliable (``LinearLR``, or ``LambdaLR``
  when starting from 0).
- :class:`warmup_stable_decay` -- a linear warm-up, a long constant phase and
  a short decay to ``lr_min`` at the end of a budget (WSD): the constant
  phase does not depend on the budget, so one run can be branched into
  decays at any step (``LambdaLR`` with that factor).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

from . import _validate
from ._parameters import ShowsParameters

__all__ = [
    "Schedule",
    "constant",
    "step_decay",
    "exponential",
    "inverse_time",
    "cosine",
    "linear_warmup",
    "warmup_stable_decay",
]


class Schedule(ShowsParameters):
    """Base class: ``__call__(t)`` validates the step index and delegates to
    ``_value``."""

    def __call__(self, t: int) -> float:
        return self._value(_validate.integer("t", t, low=0))

    def _value(self, t: int) -> float:
        raise NotImplementedError


class constant(Schedule):
    """lr_t = lr."""

    def __init__(self, lr: float):
        self.lr = _validate.real("lr", lr, low=0.0)

    def _value(self, t):
        return self.lr


class step_decay(Schedule):
    """lr_t = lr * gamma ** floor(t / step_size)."""

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1):
        self.lr = _validate.real("lr", lr, low=0.0)
        self.step_size = _validate.integer("step_size", step_size, low=1)
        self.gamma = _validate.real("gamma", gamma, low=0.0, high=1.0)

    def _value(self, t):
        return self.lr * self.gamma ** (t // self.step_size)


class exponential(Schedule):
    """lr_t = lr * gamma ** t."""

    def __init__(self, lr: float, gamma: float):
        self.lr = _validate.real("lr", lr, low=0.0)
        self.gamma = _validate.real("gamma", gamma, low=0.0, high=1.0)

    def _value(self, t):
        return self.lr * self.gamma**t


class inverse_time(Schedule):
    """lr_t = lr / (1 + decay * t) ** power.

    With decay > 0, sum_t lr_t = inf (the steps can travel any distance) and
    sum_t lr_t^2 < inf (the accumulated gradient noise stays bounded) hold
    exactly when 1/2 < power <= 1: these are the Robbins--Monro conditions
    under which SGD converges. power = 1 is Robbins and Monro's choice, the
    O(1/t) step of SGD on strongly convex problems.
    """

    def __init__(self, lr: float, decay: float, power: float = 1.0):
        self.lr = _validate.real("lr", lr, low=0.0)
        self.decay = _validate.real("decay", decay, low=0.0)
        self.power = _validate.real("power", power, low=0.0)

    def _value(self, t):
        try:
            return self.lr / (1 + self.decay * t) ** self.power
        # the denominator passed float64's largest number: lr_t is 0 to float64
        # precision
        except OverflowError:
            return 0.0


class cosine(Schedule):
    """lr_t = lr_min + (lr - lr_min) * (1 + cos(pi * t / t_max)) / 2 for
    t <= t_max, then lr_min.

    Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts"
    (ICLR 2017), without the restarts.
    """

    def __init__(self, lr: float, t_max: int, lr_min: float = 0.0):
        self.lr = _validate.real("lr", lr, low=0.0)
        self.t_max = _validate.integer("t_max", t_max, low=1)
        self.lr_min = _validate.real("lr_min", lr_min, low=0.0, high=self.lr)

    def _value(self, t):
        if t >= self.t_max:
            return self.lr_min
        return (
            self.lr_min
            + (self.lr - self.lr_min)
            * (1 + math.cos(math.pi * t / self.t_max))
            / 2
        )


class linear_warmup(Schedule):
    """lr_t = base(t) * (start_factor + (1 - start_factor) * t / warmup_steps)
    for t < warmup_steps, then base(t); ``base`` is the wrapped schedule, or a
    constant when given a number.
    """

    def __init__(
        self,
        schedule_or_lr: float | Callable[[int], float],
        warmup_steps: int,
        start_factor: float = 0.0,
    ):
        if isinstance(schedule_or_lr, numbers.Real):
            schedule_or_lr = constant(schedule_or_lr)
        elif not callable(schedule_or_lr):
            raise TypeError(
                "schedule_or_lr must be a number or a schedule t -> lr, "
                f"got {type(schedule_or_lr).__name__}"
            )
        self.schedule = schedule_or_lr
        self.warmup_steps = _validate.integer(
            "warmup_steps", warmup_steps, low=0
        )
        self.start_factor = _validate.real(
            "start_factor", start_factor, low=0.0, high=1.0
        )

    def __repr__(self) -> str:
        return (
            f"linear_warmup({self.schedule!r}, "
            f"warmup_steps={self.warmup_steps!r}, "
            f"start_factor={self.start_factor!r})"
        )

    def _value(self, t):
        lr = _validate.real(
            f"the wrapped schedule's value at step {t}",
            self.schedule(t),
            low=0.0,
        )
        if t >= self.warmup_steps:
            return lr
        return lr * (
            self.start_factor + (1 - self.start_factor) * t / self.warmup_steps
        )


_DECAY_SHAPES = {
    "linear": lambda p: 1 - p,
    "1-sqrt": lambda p: 1 - math.sqrt(p),
}


class warmup_stable_decay(Schedule):
    """Warm-up, stable, decay (WSD): with T = total_steps, W = warmup_steps,
    D = decay_steps and S = T - D the first step of the decay,

        lr_t = lr * t / W                                for t < W,
        lr_t = lr                                        for W <= t < S,
        lr_t = lr_min + (lr - lr_min) * shape((t - S) / D)  for S <= t < T,
        lr_t = lr_min                                    for t >= T,

    with shape(p) = 1 - p ("linear") or 1 - sqrt(p) ("1-sqrt"). ``decay_steps``
    or ``decay_fraction`` (D = round(decay_fraction * T), at least 1) sets the
    decay's length; neither gives D = round(0.2 * T). The warm-up must end
    before the decay starts (W <= S). With W = 0 and D = T, "linear" is a
    linear decay from lr to lr_min over the whole budget.

    Sources: Hu et al., "MiniCPM: Unveiling the Potential of Small Language
    Models with Scalable Training Strategies" (arXiv:2404.06395, 2024), who
    named it, with an exponential decay over about 10% of the steps; Hägele
    et al., "Scaling Laws and Compute-Optimal Training Beyond Fixed Training
    Durations" (NeurIPS 2024), whose "cooldown" over about 20% of the steps
    matches a cosine schedule, with 1 - sqrt better than linear.
    """

    def __init__(
        self,
        lr: float,
        total_steps: int,
        warmup_steps: int = 0,
        decay_steps: int | None = None,
        *,
        decay_fraction: float | None = None,
        shape: str = "linear",
        lr_min: float = 0.0,
    ):
        self.lr = _validate.real("lr", lr, low=0.0)
        self.total_steps = _validate.integer("total_steps", total_steps, low=1)
        self.warmup_steps = _validate.integer(
            "warmup_steps", warmup_steps, low=0
        )
        if decay_steps is not None and decay_fraction is not None:
            raise TypeError(
                "give decay_steps or decay_fraction, not both "
                f"(got {decay_steps!r} and {decay_fraction!r})"
            )
        if decay_steps is None:
            fraction = 0.2 if decay_fraction is None else decay_fraction
            fraction = _validate.real(
                "decay_fraction", fraction, low=0.0, high=1.0, low_open=True
            )
            decay_steps = max(1, round(fraction * self.total_steps))
        self.decay_steps = _validate.integer("decay_steps", decay_steps, low=1)
        stable_end = self.total_steps - self.decay_steps
        if self.decay_steps > self.total_steps:
            raise ValueError(
                f"decay_steps must be <= total_steps = {self.total_steps}, "
                f"got {self.decay_steps}"
            )
        if self.warmup_steps > stable_end:
            raise ValueError(
                "warmup_steps must be <= total_steps - decay_steps = "
                f"{stable_end} (the warm-up ends before the decay starts), "
                f"got {self.warmup_steps}"
            )
        if shape not in _DECAY_SHAPES:
            raise ValueError(
                f"shape must be one of {sorted(_DECAY_SHAPES)}, got {shape!r}"
            )
        self.shape = shape
        self.lr_min = _validate.real("lr_min", lr_min, low=0.0, high=self.lr)

    def _value(self, t):
        if t < self.warmup_steps:
            return self.lr * t / self.warmup_steps
        decay_start = self.total_steps - self.decay_steps
        if t < decay_start:
            return self.lr
        if t >= self.total_steps:
            return self.lr_min
        shape = _DECAY_SHAPES[self.shape]
        progress = (t - decay_start) / self.decay_steps
        return self.lr_min + (self.lr - self.lr_min) * shape(progress)

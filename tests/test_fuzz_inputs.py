"""Fuzzed numeric arguments get a clear error naming the argument, or a correct
(finite) result.

Hypothesis draws any float, NaN, infinities and extremes included, for one
argument at a time of the optimizers, schedules and bounds; nothing may fail
deep inside, overflow silently or return NaN.
"""

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdbook import schedules, theory
from gdbook.optim import OPTIMIZERS

ANY_FLOAT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, -1e-300]),
)


def astronomical(value) -> bool:
    """Legal values so large or so tiny that a result may overflow to inf by
    IEEE rules, correctly."""
    return (
        not np.isfinite(value) or abs(value) > 1e100 or 0 < abs(value) < 1e-100
    )


def clear_error_or(make, name, value):
    """``make()``, or None when it raises a ValueError/TypeError whose message
    names ``name``."""
    try:
        with np.errstate(over="ignore" if astronomical(value) else "raise"):
            return make()
    except (ValueError, TypeError) as error:
        assert name in str(error), (
            f"the error for a bad {name} does not name it: {error}"
        )
        return None


HYPER = sorted(
    {
        (cls_name, name)
        for cls_name, cls in OPTIMIZERS.items()
        for name, parameter in inspect.signature(cls).parameters.items()
        if name == "lr" or isinstance(parameter.default, float)
    }
)


@pytest.mark.parametrize(
    "method, name", HYPER, ids=[f"{m}-{n}" for m, n in HYPER]
)
@settings(
    max_examples=100, deadline=None, derandomize=True
)  # the same examples on every run
@given(value=ANY_FLOAT)
def test_optimizer_hyper_parameter(method, name, value):
    cls = OPTIMIZERS[method]
    opt = clear_error_or(lambda: cls(**{name: value}), name, value)
    if opt is None or astronomical(value):
        return
    x, state = np.array([0.5, -1.0]), opt.init(np.array([0.5, -1.0]))
    for _ in range(3):
        x, state = opt.step(x, np.array([1.0, -2.0]), state)
    assert np.all(np.isfinite(x)), f"{method}({name}={value}) stepped to {x}"


SCHEDULES = [
    ("lr", lambda v: schedules.constant(v)),
    ("gamma", lambda v: schedules.exponential(0.1, v)),
    ("gamma", lambda v: schedules.step_decay(0.1, 10, v)),
    ("decay", lambda v: schedules.inverse_time(0.1, v)),
    ("power", lambda v: schedules.inverse_time(0.1, 1.0, power=v)),
    ("lr_min", lambda v: schedules.cosine(0.1, 100, lr_min=v)),
    (
        "start_factor",
        lambda v: schedules.linear_warmup(0.1, 10, start_factor=v),
    ),
]


@pytest.mark.parametrize(
    "name, make",
    SCHEDULES,
    ids=[f"{i}-{name}" for i, (name, _) in enumerate(SCHEDULES)],
)
@settings(
    max_examples=100, deadline=None, derandomize=True
)  # the same examples on every run
@given(value=ANY_FLOAT)
def test_schedule_argument(name, make, value):
    schedule = clear_error_or(lambda: make(value), name, value)
    if schedule is not None:
        rates = [schedule(t) for t in (0, 1, 10, 10**6)]
        assert all(np.isfinite(rate) and rate >= 0 for rate in rates), (
            f"{schedule}: {rates}"
        )


BOUNDS = [
    ("lr", lambda v: theory.strongly_convex_bound(10, v, 1.0, 0.1, 1.0)),
    ("mu", lambda v: theory.strongly_convex_bound(10, 0.5, 1.0, v, 1.0)),
    ("gap0", lambda v: theory.strongly_convex_bound(10, 0.5, 1.0, 0.1, v)),
    ("dist0", lambda v: theory.convex_bound(10, 0.5, 1.0, v)),
    ("L", lambda v: theory.max_stable_step(v)),
    ("t", lambda v: theory.optimal_step_distance_bound(v, 1.0, 0.1, 1.0)),
    ("noise", lambda v: theory.sgd_gap_floor(0.1, 1.0, 0.1, v)),
    ("component", lambda v: theory.divergence_lower_bound(5, 3.0, 1.0, v)),
]


@pytest.mark.parametrize(
    "name, make",
    BOUNDS,
    ids=[f"{i}-{name}" for i, (name, _) in enumerate(BOUNDS)],
)
@settings(
    max_examples=100, deadline=None, derandomize=True
)  # the same examples on every run
@given(value=ANY_FLOAT)
def test_bound_argument(name, make, value):
    bound = clear_error_or(lambda: make(value), name, value)
    if bound is not None and not astronomical(value):
        assert np.all(np.isfinite(bound)), f"{name}={value} gave {bound}"

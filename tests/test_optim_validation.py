"""Bad arguments to gdbook.optim raise ValueError or TypeError with a message
naming the argument."""

import inspect

import numpy as np
import pytest

from gdbook.optim import (
    OPTIMIZERS,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    AdamW,
    RMSprop,
)

NAN, INF = float("nan"), float("inf")

BAD_ARGUMENTS = [
    # (optimizer class, keyword arguments, exception, argument name the message
    # must contain)
    *[
        (cls, dict(lr=lr), ValueError, "lr")
        for cls in OPTIMIZERS.values()
        for lr in (-0.1, NAN, INF)
    ],
    *[(cls, dict(lr="0.1"), TypeError, "lr") for cls in OPTIMIZERS.values()],
    *[
        (cls, dict(weight_decay=-0.1), ValueError, "weight_decay")
        for cls in OPTIMIZERS.values()
    ],
    *[
        (cls, dict(eps=-1e-8), ValueError, "eps")
        for cls in (Adagrad, RMSprop, Adadelta, Adam, AdamW)
    ],
    (SGD, dict(momentum=-0.9), ValueError, "momentum"),
    (RMSprop, dict(momentum=-0.9), ValueError, "momentum"),
    (SGD, dict(dampening=-0.5), ValueError, "dampening"),
    (SGD, dict(nesterov=True), ValueError, "nesterov"),
    (
        SGD,
        dict(nesterov=True, momentum=0.9, dampening=0.1),
        ValueError,
        "nesterov",
    ),
    (Adagrad, dict(lr_decay=-0.01), ValueError, "lr_decay"),
    (
        Adagrad,
        dict(initial_accumulator_value=-0.1),
        ValueError,
        "initial_accumulator_value",
    ),
    (RMSprop, dict(alpha=-0.1), ValueError, "alpha"),
    (RMSprop, dict(alpha=1.01), ValueError, "alpha"),
    (Adadelta, dict(rho=-0.1), ValueError, "rho"),
    (Adadelta, dict(rho=1.5), ValueError, "rho"),
    *[
        (cls, dict(betas=betas), ValueError, "betas")
        for cls in (Adam, AdamW)
        for betas in ((1.0, 0.999), (0.9, 1.0), (-0.1, 0.999), (0.9, NAN))
    ],
    *[
        (cls, dict(betas=betas), TypeError, "betas")
        for cls in (Adam, AdamW)
        for betas in (0.9, (0.9,), (0.9, 0.99, 0.999), (0.9, "0.999"))
    ],
]


@pytest.mark.parametrize(
    "cls, kwargs, error, name",
    BAD_ARGUMENTS,
    ids=[f"{cls.__name__}-{kwargs}" for cls, kwargs, _, _ in BAD_ARGUMENTS],
)
def test_bad_hyper_parameter(cls, kwargs, error, name):
    with pytest.raises(error, match=name):
        cls(**kwargs)


@pytest.mark.parametrize("cls", OPTIMIZERS.values())
@pytest.mark.parametrize("bad_value", [-0.1, NAN])
def test_schedule_returning_bad_lr(cls, bad_value):
    opt = cls(lr=lambda t: 0.1 if t < 2 else bad_value)
    x, state = np.ones(3), opt.init(np.ones(3))
    for _ in range(2):
        x, state = opt.step(x, np.ones(3), state)
    with pytest.raises(ValueError, match=r"lr \(schedule value at step 2\)"):
        opt.step(x, np.ones(3), state)


@pytest.mark.parametrize("cls", OPTIMIZERS.values())
@pytest.mark.parametrize("g_shape", [(4,), (3, 1), (1, 3), ()])
def test_gradient_shape_must_equal_x_shape(cls, g_shape):
    """No broadcasting: a (3, 1) or scalar gradient for a (3,) x is an error,
    not a silent outer sum."""
    opt = cls()
    with pytest.raises(ValueError, match="g must have the shape of x"):
        opt.step(np.ones(3), np.ones(g_shape), opt.init(np.ones(3)))


@pytest.mark.parametrize("cls", OPTIMIZERS.values())
@pytest.mark.parametrize("x0", [[1.0, NAN], [[1.0, 2.0]], "ab"])
def test_bad_x0(cls, x0):
    with pytest.raises((ValueError, TypeError), match="x0"):
        cls().init(x0)


@pytest.mark.parametrize("state", [None, {}, {"exp_avg": np.zeros(3)}])
def test_state_must_come_from_init(state):
    with pytest.raises(TypeError, match="state"):
        Adam().step(np.ones(3), np.ones(3), state)


def test_valid_edge_values_are_accepted():
    """The closed ends of the allowed ranges are allowed."""
    SGD(lr=0.0, momentum=0.0, dampening=0.0, weight_decay=0.0)
    SGD(momentum=0.5, nesterov=True)
    RMSprop(alpha=0.0)
    RMSprop(alpha=1.0)
    Adadelta(rho=0.0)
    Adadelta(rho=1.0)
    Adam(betas=(0.0, 0.0), eps=0.0)
    Adam(betas=[0.5, 0.5])


FLAGS = [
    (cls, flag)
    for cls in OPTIMIZERS.values()
    for flag in ("maximize", "amsgrad", "nesterov", "centered")
    if flag in inspect.signature(cls).parameters
]


@pytest.mark.parametrize(
    "cls, flag", FLAGS, ids=[f"{cls.__name__}-{flag}" for cls, flag in FLAGS]
)
def test_flags_must_be_booleans_not_strings_that_bool_would_make_true(
    cls, flag
):
    with pytest.raises(TypeError, match=f"{flag} must be True or False"):
        cls(**{flag: "False"})


@pytest.mark.parametrize(
    "opt",
    [
        cls(momentum=0.9) if cls is SGD else cls()
        for cls in OPTIMIZERS.values()
    ],
    ids=list(OPTIMIZERS),
)
def test_state_built_for_another_dimension_is_refused_not_broadcast(opt):
    state = opt.step(np.zeros(1), np.ones(1), opt.init(np.zeros(1)))[1]
    with pytest.raises(
        ValueError,
        match=r"state\['\w+'\] has shape \(1,\) but x has shape \(3,\)",
    ):
        opt.step(np.zeros(3), np.ones(3), state)


@pytest.mark.parametrize("cls", OPTIMIZERS.values())
def test_x_must_be_a_finite_vector(cls):
    opt = cls()
    with pytest.raises(ValueError, match="x must be a 1-D array"):
        opt.step(np.zeros((2, 2)), np.ones((2, 2)), opt.init(np.zeros(4)))
    with pytest.raises(ValueError, match="x must be finite"):
        opt.step(np.array([np.nan, 0.0]), np.ones(2), opt.init(np.zeros(2)))


def test_one_registry_turns_names_into_optimizers():
    from gdbook import optim

    assert (
        optim.by_name("gd") is SGD
        and optim.by_name("adam") is Adam
        and set(optim.NAMES) > set(OPTIMIZERS)
    )
    with pytest.raises(
        ValueError, match="method must be one of gd, sgd, adagrad"
    ):
        optim.by_name("nesterov")

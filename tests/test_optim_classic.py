"""ASGD, Rprop and Adafactor: the NumPy references and gdbook's torch classes
against torch.optim in float64, step by step, for every option torch
exposes."""

import contextlib
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gdbook.optim.adafactor import Adafactor  # noqa: E402
from gdbook.optim.asgd import ASGD  # noqa: E402
from gdbook.optim.rprop import Rprop  # noqa: E402
from gdbook.torch.optim.adafactor import (  # noqa: E402
    Adafactor as TorchAdafactor,
)
from gdbook.torch.optim.asgd import ASGD as TorchASGD  # noqa: E402
from gdbook.torch.optim.rprop import Rprop as TorchRprop  # noqa: E402

DIM = 6
STEPS = 30
_rng = np.random.default_rng(13)
_Q = np.linalg.qr(_rng.standard_normal((DIM, DIM)))[0]
A = _Q @ np.diag(np.linspace(0.5, 2.0, DIM)) @ _Q.T
X0 = _rng.standard_normal(DIM)
NOISE = 0.1 * _rng.standard_normal((STEPS, DIM))


def gradient(x, t):
    """A non-quadratic gradient with a fixed per-step noise, evaluated at each
    trajectory's own x."""
    return A @ x + np.sin(x) + NOISE[t]


def grid(**options):
    """Every combination of the given option values, as kwargs dicts."""
    names = list(options)
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*options.values())
    ]


def ids(kwargs):
    return ",".join(f"{k}={v}" for k, v in kwargs.items())


@contextlib.contextmanager
def default_dtype(dtype):
    """torch.optim keeps scalar state (ASGD's eta and mu) in float64 only
    when that is torch's default dtype."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def close(ours, theirs, what):
    np.testing.assert_allclose(
        np.asarray(ours, dtype=float),
        np.asarray(theirs, dtype=float),
        rtol=1e-10,
        atol=1e-12,
        err_msg=what,
    )


def torch_run(cls, kwargs, shape=None, steps=STEPS):
    """Yield (x, state) after each of ``steps`` steps of the torch class
    ``cls`` on one float64 parameter (of ``shape``, else a vector)."""
    p = torch.tensor(X0, dtype=torch.float64).reshape(shape or (DIM,))
    p.requires_grad_(True)
    opt = cls([p], **kwargs)
    for t in range(steps):
        x = p.detach().numpy().ravel()
        p.grad = torch.from_numpy(gradient(x, t)).reshape(p.shape)
        opt.step()
        yield p.detach().numpy().ravel().copy(), opt.state[p]


def trajectory(cls, kwargs, shape=None):
    """The parameter (flattened) and a copy of the state after each step of
    the torch class ``cls``."""
    return [
        (x, {key: value.clone() for key, value in state.items()})
        for x, state in torch_run(cls, kwargs, shape)
    ]


def assert_reference_matches(ours, theirs):
    """The NumPy reference ``ours`` follows ``theirs``, a torch class's
    :func:`trajectory`: same x and same state after every step."""
    x, state = X0.copy(), ours.init(X0)
    for t, (p, their_state) in enumerate(theirs):
        x, state = ours.step(x, gradient(x, t), state)
        close(x, p, f"x at step {t}")
        assert state["step"] == t + 1 == float(their_state["step"])
        assert state.keys() == their_state.keys()
        for key, value in state.items():
            if key != "step":
                close(value, their_state[key].numpy(), f"{key} at step {t}")


def assert_torch_class_matches(ours, theirs, kwargs, shape=None):
    """gdbook's torch class ``ours`` follows ``theirs``, torch.optim's
    :func:`trajectory`: same parameter and same state (names, dtypes, shapes,
    values) after every step."""
    for t, ((p, state), (q, their_state)) in enumerate(
        zip(torch_run(ours, kwargs, shape), theirs, strict=True)
    ):
        close(p, q, f"param at step {t}")
        assert state.keys() == their_state.keys()
        for key, value in state.items():
            assert value.dtype == their_state[key].dtype, key
            assert value.shape == their_state[key].shape, key
            close(value.numpy(), their_state[key].numpy(), f"{key} at {t}")


def assert_all_match(reference, ours, theirs, kwargs, shape=None):
    """The NumPy ``reference`` and gdbook's torch class ``ours`` both follow
    torch.optim's ``theirs`` with the same ``kwargs``."""
    expected = trajectory(theirs, kwargs, shape)
    if reference is not None:
        assert_reference_matches(reference, expected)
    assert_torch_class_matches(ours, expected, kwargs, shape)


def assert_state_dicts_load_both_ways(ours, theirs, kwargs, shape=None):
    """Ten steps with one class, a state dict loaded into the other, ten more
    steps: the same as twenty steps with either."""
    finals = []
    for first, second in ((ours, theirs), (theirs, ours), (ours, ours)):
        p = torch.tensor(X0, dtype=torch.float64).reshape(shape or (DIM,))
        p.requires_grad_(True)
        opt = first([p], **kwargs)
        for t in range(20):
            if t == 10:
                saved = opt.state_dict()
                opt = second([p], **kwargs)
                opt.load_state_dict(saved)
            x = p.detach().numpy().ravel()
            p.grad = torch.from_numpy(gradient(x, t)).reshape(p.shape)
            opt.step()
        finals.append(p.detach().numpy().ravel().copy())
    for final in finals[1:]:
        close(final, finals[0], "after a state dict round trip")


# ---------------------------------------------------------------- ASGD
ASGD_GRID = grid(
    lr=[0.01, 0.1],
    lambd=[1e-4, 0.5],
    t0=[1e6, 10.0],
    weight_decay=[0.0, 0.1],
    maximize=[False, True],
)


@pytest.mark.parametrize("kwargs", ASGD_GRID, ids=ids)
def test_asgd_reference_matches_torch(kwargs):
    with default_dtype(torch.float64):
        assert_all_match(
            ASGD(alpha=0.6, **kwargs),
            TorchASGD,
            torch.optim.ASGD,
            dict(alpha=0.6, **kwargs),
        )


@pytest.mark.parametrize("kwargs", ASGD_GRID[::5], ids=ids)
def test_asgd_torch_class_matches_torch_float32_scalars(kwargs):
    """Under torch's usual default dtype, float32 eta and mu, as torch."""
    assert_all_match(None, TorchASGD, torch.optim.ASGD, kwargs)


def test_asgd_defaults_match_torch():
    with default_dtype(torch.float64):
        assert_all_match(ASGD(), TorchASGD, torch.optim.ASGD, {})
    assert_all_match(None, TorchASGD, torch.optim.ASGD, {})


def test_asgd_state_dict_round_trip():
    assert_state_dicts_load_both_ways(
        TorchASGD, torch.optim.ASGD, dict(lr=0.05, lambd=0.1, t0=5.0)
    )


# ---------------------------------------------------------------- Rprop
RPROP_GRID = grid(
    lr=[0.01, 0.3],
    etas=[(0.5, 1.2), (0.3, 1.5)],
    step_sizes=[(1e-6, 50), (0.05, 0.2)],
    maximize=[False, True],
)


@pytest.mark.parametrize("kwargs", RPROP_GRID, ids=ids)
def test_rprop_reference_matches_torch(kwargs):
    assert_all_match(Rprop(**kwargs), TorchRprop, torch.optim.Rprop, kwargs)


def test_rprop_defaults_match_torch():
    assert_all_match(Rprop(), TorchRprop, torch.optim.Rprop, {})


def test_rprop_state_dict_round_trip():
    assert_state_dicts_load_both_ways(
        TorchRprop, torch.optim.Rprop, dict(lr=0.1, etas=(0.4, 1.3))
    )


# ------------------------------------------------------------ Adafactor
ADAFACTOR_GRID = grid(
    lr=[0.01, 0.5],
    beta2_decay=[-0.8, -0.5],
    eps=[(None, 1e-3), (0.5, 2.0)],
    d=[1.0, 4.0],
    weight_decay=[0.0, 0.1],
    maximize=[False, True],
)
# torch.optim factors a parameter over its last two axes; a vector keeps the
# full second moment. The NumPy reference's x is 1-D and ``shape`` says how
# torch's parameter is shaped.
# Every option with the first three; the defaults with all.
SHAPES = [None, (2, 3), (1, 2, 3), (3, 2), (6, 1)]


@pytest.mark.parametrize("kwargs", ADAFACTOR_GRID, ids=ids)
def test_adafactor_reference_matches_torch(kwargs):
    for shape in SHAPES[:3]:
        assert_all_match(
            Adafactor(shape=shape, **kwargs),
            TorchAdafactor,
            torch.optim.Adafactor,
            kwargs,
            shape,
        )


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_adafactor_defaults_match_torch(shape):
    assert_all_match(
        Adafactor(shape=shape),
        TorchAdafactor,
        torch.optim.Adafactor,
        {},
        shape,
    )


@pytest.mark.parametrize("shape", [None, (2, 3)], ids=str)
def test_adafactor_state_dict_round_trip(shape):
    assert_state_dicts_load_both_ways(
        TorchAdafactor,
        torch.optim.Adafactor,
        dict(lr=0.3, weight_decay=0.1),
        shape,
    )


def test_adafactor_factored_state_is_small():
    """An m x n matrix keeps m + n numbers of second moment, not m * n."""
    state = Adafactor(shape=(40, 30)).init(np.zeros(1200))
    assert state["row_var"].shape == (40, 1)
    assert state["col_var"].shape == (1, 30)


# ------------------------------------------------------------ bad input
BAD = [
    # (NumPy class, torch class, bad kwargs, error, the message names)
    (ASGD, TorchASGD, dict(lr=-0.1), ValueError, "lr must be >= 0"),
    (ASGD, TorchASGD, dict(lambd=-1.0), ValueError, "lambd must be >= 0"),
    (ASGD, TorchASGD, dict(alpha=float("nan")), ValueError, "alpha must"),
    (ASGD, TorchASGD, dict(t0="10"), TypeError, "t0 must be a real"),
    (ASGD, TorchASGD, dict(weight_decay=-1e-3), ValueError, "weight_decay"),
    (ASGD, TorchASGD, dict(maximize=1), TypeError, "maximize must be True"),
    (Rprop, TorchRprop, dict(lr=float("inf")), ValueError, "lr must be"),
    (Rprop, TorchRprop, dict(etas=(0.5,)), TypeError, "etas must be a pair"),
    (Rprop, TorchRprop, dict(etas=(1.2, 0.5)), ValueError, "0 < eta_minus"),
    (Rprop, TorchRprop, dict(etas=(0.5, "1")), TypeError, r"etas\[1\]"),
    (Rprop, TorchRprop, dict(step_sizes=1e-6), TypeError, "step_sizes"),
    (Rprop, TorchRprop, dict(step_sizes=(1, 0.1)), ValueError, "min <= max"),
    (Rprop, TorchRprop, dict(step_sizes=(-1, 1)), ValueError, "0 <= min"),
    (Rprop, TorchRprop, dict(maximize="no"), TypeError, "maximize"),
    (Adafactor, TorchAdafactor, dict(lr=-1.0), ValueError, "lr must be"),
    (Adafactor, TorchAdafactor, dict(beta2_decay=0.5), ValueError, "<= 0"),
    (Adafactor, TorchAdafactor, dict(eps=1e-3), TypeError, "eps must be"),
    (Adafactor, TorchAdafactor, dict(eps=(-1, 1)), ValueError, r"eps\[0\]"),
    (Adafactor, TorchAdafactor, dict(eps=(None, None)), TypeError, r"eps\[1"),
    (Adafactor, TorchAdafactor, dict(d=0.5), ValueError, "d must be >= 1"),
    (Adafactor, TorchAdafactor, dict(weight_decay=-1), ValueError, "weight"),
    (Adafactor, TorchAdafactor, dict(maximize=None), TypeError, "maximize"),
]


@pytest.mark.parametrize(
    "reference, ours, kwargs, error, match",
    BAD,
    ids=[f"{case[0].__name__}({ids(case[2])})" for case in BAD],
)
def test_bad_hyper_parameters_are_refused(
    reference, ours, kwargs, error, match
):
    with pytest.raises(error, match=match):
        reference(**kwargs)
    p = torch.zeros(3, requires_grad=True)
    with pytest.raises(error, match=match):
        ours([p], **kwargs)
    with pytest.raises(error, match=match):  # a param group is checked too
        ours([p]).add_param_group(
            {"params": [torch.zeros(2, requires_grad=True)], **kwargs}
        )


@pytest.mark.parametrize(
    "ours, flags",
    [
        (TorchASGD, ["foreach", "differentiable", "capturable"]),
        (TorchRprop, ["foreach", "differentiable", "capturable"]),
        (TorchAdafactor, ["foreach"]),
    ],
)
def test_implementation_flags(ours, flags):
    """torch.optim's flags are accepted where they change nothing and
    refused, naming the flag, where they would."""
    p = torch.zeros(3, requires_grad=True)
    for flag in flags:
        ours([p], **{flag: False})
        with pytest.raises(ValueError, match=f"{flag}=True"):
            ours([p], **{flag: True})


def test_adafactor_shape_must_fit_x():
    with pytest.raises(TypeError, match="shape must be a tuple"):
        Adafactor(shape=6)
    with pytest.raises(ValueError, match="positive sizes"):
        Adafactor(shape=(0, 6))
    with pytest.raises(ValueError, match=r"holds 4 entries but x has 6"):
        Adafactor(shape=(2, 2)).init(X0)
    opt = Adafactor(shape=(2, 3))
    with pytest.raises(ValueError, match=r"state\['row_var'\] has shape"):
        opt.step(X0, X0, Adafactor(shape=(3, 2)).init(X0))
    with pytest.raises(TypeError, match="state must be the dict"):
        opt.step(X0, X0, Adafactor().init(X0))
    with pytest.raises(ValueError, match="g must"):
        opt.step(X0, X0[:5], opt.init(X0))


def test_adafactor_refuses_complex_parameters():
    p = torch.zeros(3, dtype=torch.complex128, requires_grad=True)
    p.grad = torch.ones_like(p)
    with pytest.raises(TypeError, match="complex"):
        TorchAdafactor([p]).step()


@pytest.mark.parametrize(
    "ours, theirs, kwargs",
    [
        (TorchASGD, torch.optim.ASGD, dict(lr=0.05, lambd=0.1, t0=3.0)),
        (TorchRprop, torch.optim.Rprop, dict(lr=0.05)),
    ],
    ids=["ASGD", "Rprop"],
)
def test_complex_parameters_match_torch(ours, theirs, kwargs):
    """A complex parameter is updated as its real and imaginary parts."""
    z0 = torch.tensor(X0[:3] + 1j * X0[3:], dtype=torch.complex128)
    params = [z0.clone().requires_grad_(True) for _ in range(2)]
    opts = [ours([params[0]], **kwargs), theirs([params[1]], **kwargs)]
    for t in range(STEPS):
        for p, opt in zip(params, opts, strict=True):
            x = torch.view_as_real(p.detach()).numpy().ravel()
            p.grad = torch.view_as_complex(
                torch.from_numpy(gradient(x, t)).reshape(3, 2)
            )
            opt.step()
        close(
            torch.view_as_real(params[0].detach()).numpy(),
            torch.view_as_real(params[1].detach()).numpy(),
            f"step {t}",
        )


@pytest.mark.parametrize(
    "opt",
    [ASGD(t0=1.0), Rprop(), Adafactor(), Adafactor(shape=(2, 3))],
    ids=repr,
)
def test_step_mutates_nothing_and_counts_steps(opt):
    x, state = X0.copy(), opt.init(X0)
    for t in range(3):
        g = gradient(x, t)
        before = (
            x.copy(),
            g.copy(),
            {k: np.copy(v) for k, v in state.items()},
        )
        x_new, new_state = opt.step(x, g, state)
        np.testing.assert_array_equal(x, before[0])
        np.testing.assert_array_equal(g, before[1])
        for key, value in before[2].items():
            np.testing.assert_array_equal(state[key], value)
        assert new_state["step"] == t + 1 and state["step"] == t
        x, state = x_new, new_state

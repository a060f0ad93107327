"""gdbook.optim against torch.optim in float64: same trajectory and same state,
step by step."""

import copy
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gdbook import optim, schedules  # noqa: E402

DIM = 6
STEPS = 30
_rng = np.random.default_rng(0)
_Q = np.linalg.qr(_rng.standard_normal((DIM, DIM)))[0]
A = _Q @ np.diag(np.linspace(0.5, 2.0, DIM)) @ _Q.T
X0 = _rng.standard_normal(DIM)
NOISE = 0.1 * _rng.standard_normal((STEPS, DIM))


def gradient(x, t):
    """A non-quadratic gradient with a fixed per-step noise, evaluated at each
    trajectory's own x."""
    return A @ x + np.sin(x) + NOISE[t]


def assert_same_run(ours, theirs, theirs_schedule=None):
    """Run ``ours`` (gdbook) and ``theirs`` (a torch.optim class and kwargs)
    side by side and compare."""
    cls, kwargs = theirs
    p = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    opt = cls([p], **kwargs)
    scheduler = theirs_schedule(opt) if theirs_schedule else None
    x, state = X0.copy(), ours.init(X0)
    for t in range(STEPS):
        x, state = ours.step(x, gradient(x, t), state)
        p.grad = torch.from_numpy(gradient(p.detach().numpy(), t))
        opt.step()
        if scheduler:
            scheduler.step()
        np.testing.assert_allclose(
            x,
            p.detach().numpy(),
            rtol=1e-10,
            atol=1e-12,
            err_msg=f"x at step {t}",
        )
        assert state["step"] == t + 1 == float(opt.state[p].get("step", t + 1))
        for key, value in state.items():
            if key != "step":
                np.testing.assert_allclose(
                    value,
                    opt.state[p][key].numpy(),
                    rtol=1e-10,
                    atol=1e-12,
                    err_msg=f"{key} at step {t}",
                )


def grid(**options):
    """Every combination of the given option values, as a list of kwargs
    dicts."""
    names = list(options)
    return [
        dict(zip(names, values, strict=True))
        for values in itertools.product(*options.values())
    ]


def ids(kwargs):
    return ",".join(f"{k}={v}" for k, v in kwargs.items())


SGD_GRID = [
    kw
    for kw in grid(
        momentum=[0.0, 0.9],
        dampening=[0.0, 0.5],
        nesterov=[False, True],
        weight_decay=[0.0, 0.1],
        maximize=[False, True],
    )
    if not kw["nesterov"] or (kw["momentum"] > 0 and kw["dampening"] == 0)
]

CASES = (
    [(optim.SGD, torch.optim.SGD, dict(lr=0.02, **kw)) for kw in SGD_GRID]
    + [
        (optim.Adagrad, torch.optim.Adagrad, dict(lr=0.1, **kw))
        for kw in grid(
            lr_decay=[0.0, 0.05],
            weight_decay=[0.0, 0.1],
            initial_accumulator_value=[0.0, 0.1],
            maximize=[False, True],
        )
    ]
    + [
        (optim.RMSprop, torch.optim.RMSprop, dict(lr=0.01, **kw))
        for kw in grid(
            centered=[False, True],
            momentum=[0.0, 0.9],
            weight_decay=[0.0, 0.1],
            maximize=[False, True],
        )
    ]
    + [
        (optim.Adadelta, torch.optim.Adadelta, dict(lr=1.0, **kw))
        for kw in grid(weight_decay=[0.0, 0.1], maximize=[False, True])
    ]
    + [
        (optim.Adam, torch.optim.Adam, dict(lr=0.01, **kw))
        for kw in grid(
            betas=[(0.9, 0.999), (0.3, 0.6)],
            amsgrad=[False, True],
            weight_decay=[0.0, 0.1],
            maximize=[False, True],
        )
    ]
    + [
        (optim.AdamW, torch.optim.AdamW, dict(lr=0.01, **kw))
        for kw in grid(
            amsgrad=[False, True],
            weight_decay=[0.0, 0.01, 0.5],
            maximize=[False, True],
        )
    ]
)


CASE_IDS = [f"{ours.__name__}({ids(kwargs)})" for ours, _, kwargs in CASES]


@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=CASE_IDS)
def test_matches_torch(ours, theirs, kwargs):
    assert_same_run(ours(**kwargs), (theirs, kwargs))


@pytest.mark.parametrize("name", list(optim.OPTIMIZERS))
def test_defaults_match_torch(name):
    """Default hyper-parameters, including the default lr, give torch's
    trajectory."""
    ours = optim.OPTIMIZERS[name]()
    theirs = getattr(torch.optim, type(ours).__name__)  # the namesake
    assert_same_run(ours, (theirs, {}))


lr_scheduler = torch.optim.lr_scheduler
# (ours, theirs, kwargs, our schedule, torch's base lr, torch's scheduler)
SCHEDULE_CASES = [
    (
        optim.SGD,
        torch.optim.SGD,
        dict(momentum=0.9),
        schedules.step_decay(0.05, step_size=7, gamma=0.5),
        0.05,
        lambda o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    ),
    (
        optim.Adam,
        torch.optim.Adam,
        {},
        schedules.cosine(0.05, t_max=STEPS, lr_min=0.001),
        0.05,
        lambda o: lr_scheduler.CosineAnnealingLR(
            o, T_max=STEPS, eta_min=0.001
        ),
    ),
    (
        optim.RMSprop,
        torch.optim.RMSprop,
        dict(centered=True),
        schedules.exponential(0.01, gamma=0.9),
        0.01,
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
    ),
    (
        optim.Adagrad,
        torch.optim.Adagrad,
        dict(lr_decay=0.01),
        schedules.inverse_time(0.1, decay=0.2, power=0.75),
        0.1,
        lambda o: lr_scheduler.LambdaLR(
            o, lambda t: 1 / (1 + 0.2 * t) ** 0.75
        ),
    ),
    (
        optim.AdamW,
        torch.optim.AdamW,
        dict(weight_decay=0.1),
        schedules.linear_warmup(0.02, warmup_steps=10),
        0.02,
        lambda o: lr_scheduler.LambdaLR(o, lambda t: min(t / 10, 1.0)),
    ),
    (
        optim.Adadelta,
        torch.optim.Adadelta,
        {},
        schedules.linear_warmup(schedules.exponential(2.0, 0.95), 8, 0.25),
        2.0,
        lambda o: lr_scheduler.ChainedScheduler(
            [
                lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=8),
                lr_scheduler.ExponentialLR(o, gamma=0.95),
            ]
        ),
    ),
]


@pytest.mark.parametrize(
    "ours, theirs, kwargs, schedule, torch_lr, scheduler",
    SCHEDULE_CASES,
    ids=[case[0].__name__ for case in SCHEDULE_CASES],
)
def test_schedule_matches_torch_scheduler(
    ours, theirs, kwargs, schedule, torch_lr, scheduler
):
    assert_same_run(
        ours(lr=schedule, **kwargs),
        (theirs, dict(lr=torch_lr, **kwargs)),
        theirs_schedule=scheduler,
    )


@pytest.mark.parametrize("ours, _, kwargs", CASES, ids=CASE_IDS)
def test_step_mutates_nothing_and_counts_steps(ours, _, kwargs):
    opt = ours(**kwargs)
    x, state = X0.copy(), opt.init(X0)
    for t in range(3):
        g = gradient(x, t)
        before = copy.deepcopy((x, g, state))
        x_new, new_state = opt.step(x, g, state)
        np.testing.assert_array_equal(x, before[0])
        np.testing.assert_array_equal(g, before[1])
        assert state.keys() == before[2].keys()
        for key in state:
            np.testing.assert_array_equal(state[key], before[2][key])
        assert new_state is not state and x_new is not x
        assert new_state["step"] == t + 1 and state["step"] == t
        x, state = x_new, new_state

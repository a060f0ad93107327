"""gdbook.torch optimizers against torch.optim: same parameters and state at
every step, every option.

The option grids are those of the NumPy parity tests
(tests/test_optim_parity.py), so the NumPy reference, gdbook.torch and
torch.optim are checked on the same cases.
"""

import copy
import io

import pytest

torch = pytest.importorskip("torch")

from test_optim_parity import CASES, ids  # noqa: E402
from test_optim_validation import BAD_ARGUMENTS  # noqa: E402

import gdbook.torch as gt  # noqa: E402

SHAPES = [(3, 4), (5,), (2, 3, 2), (7,)]
STEPS = 30
TOLERANCE = {
    torch.float64: dict(rtol=1e-10, atol=1e-12),
    torch.float32: dict(rtol=1e-5, atol=1e-6),
}
lr_scheduler = torch.optim.lr_scheduler


@pytest.fixture(autouse=True)
def one_thread():
    """On tensors this small, one intra-op thread is faster than several
    contending for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_params(dtype=torch.float64, device="cpu"):
    generator = torch.Generator().manual_seed(0)
    return [
        torch.randn(s, generator=generator, dtype=dtype)
        .to(device)
        .requires_grad_()
        for s in SHAPES
    ]


def param_groups(params, lr):
    """Two param groups; the second has its own lr and no weight decay."""
    return [
        {"params": params[:2]},
        {"params": params[2:], "lr": lr / 2, "weight_decay": 0.0},
    ]


def loss(params, t):
    """A non-quadratic loss whose gradient changes from step to step."""
    return sum(
        (p * p.sin() + 0.5 * p * p).sum() + (0.1 * (t % 5) - 0.2) * p.sum()
        for p in params
    )


@torch.no_grad()
def backward_step(params, optimizer, t):
    """One step on ``loss(params, t)``, its gradient written in closed form
    (faster than backward()) into ``p.grad`` in place when it exists, as
    backward() would accumulate after zero_grad()."""
    optimizer.zero_grad()
    for p in params:
        grad = p.sin() + p * p.cos() + p + (0.1 * (t % 5) - 0.2)
        if p.grad is None:
            p.grad = grad
        else:
            p.grad.add_(grad)
    optimizer.step()


def hand_over(first, second, **kwargs):
    """5 steps with optimizer class ``first``, its state_dict loaded into
    ``second`` on fresh copies of the parameters, 5 more steps: returns the
    parameters and a copy of the state dict as it was handed over (loading it
    may share its tensors, which the second optimizer then updates)."""
    params = make_params()
    optimizer = first(params, **kwargs)
    for t in range(5):
        backward_step(params, optimizer, t)
    state = optimizer.state_dict()
    handed = copy.deepcopy(state)
    params = [p.detach().clone().requires_grad_() for p in params]
    optimizer = second(params, **kwargs)
    optimizer.load_state_dict(state)
    for t in range(5, 10):
        backward_step(params, optimizer, t)
    return params, handed


def snapshot(optimizer, params):
    """Every parameter and state tensor, flattened into one vector, and the
    state's keys and steps."""
    values, keys = [], []
    for p in params:
        state = optimizer.state[p]
        keys.append(
            {
                k: float(v) if k == "step" else None
                for k, v in sorted(state.items())
            }
        )
        values += [p.detach().reshape(-1)] + [
            v.reshape(-1) for k, v in sorted(state.items()) if k != "step"
        ]
    return torch.cat(values), keys


def assert_same_run(
    make_ours,
    make_theirs,
    lr,
    dtype,
    device="cpu",
    scheduler=None,
    steps=STEPS,
):
    """Run both optimizers (``make(param_groups) -> optimizer``) side by side;
    after every step the parameters and the whole per-parameter state (keys,
    step counts, tensors) must agree."""
    a, b = make_params(dtype, device), make_params(dtype, device)
    ours, theirs = (
        make_ours(param_groups(a, lr)),
        make_theirs(param_groups(b, lr)),
    )
    schedulers = [scheduler(ours), scheduler(theirs)] if scheduler else []
    for t in range(steps):
        backward_step(a, ours, t)
        backward_step(b, theirs, t)
        for s in schedulers:
            s.step()
        (values, keys), (expected, expected_keys) = (
            snapshot(ours, a),
            snapshot(theirs, b),
        )
        assert keys == expected_keys, f"state keys or step counts at step {t}"
        torch.testing.assert_close(
            values,
            expected,
            **TOLERANCE[dtype],
            msg=lambda m, t=t: f"at step {t}: {m}",
        )


def torch_class(reference_cls):
    """The gdbook.torch class of the same name as a gdbook.optim (NumPy)
    class."""
    return gt.OPTIMIZERS[reference_cls.__name__.lower()]


@pytest.mark.parametrize(
    "reference, theirs, kwargs",
    CASES,
    ids=[f"{r.__name__}({ids(kw)})" for r, _, kw in CASES],
)
def test_matches_torch_optim(reference, theirs, kwargs):
    for dtype in (torch.float64, torch.float32):
        assert_same_run(
            lambda g: torch_class(reference)(g, **kwargs),
            lambda g: theirs(g, **kwargs),
            kwargs["lr"],
            dtype,
        )


@pytest.mark.parametrize("name", list(gt.OPTIMIZERS))
def test_defaults_match_torch_optim(name):
    theirs = getattr(torch.optim, gt.OPTIMIZERS[name].__name__)
    assert_same_run(
        gt.OPTIMIZERS[name],
        theirs,
        lr=theirs([torch.zeros(1)]).defaults["lr"],
        dtype=torch.float64,
    )


SCHEDULES = [
    (
        "sgd",
        dict(lr=0.05, momentum=0.9),
        lambda o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    ),
    (
        "adam",
        dict(lr=0.05),
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=STEPS),
    ),  # cycles beta1
    (
        "adamw",
        dict(lr=0.02, weight_decay=0.1),
        lambda o: lr_scheduler.LambdaLR(o, lambda t: min((t + 1) / 10, 1)),
    ),
    (
        "rmsprop",
        dict(lr=0.01, centered=True),
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
    ),
    (
        "adagrad",
        dict(lr=0.1, lr_decay=0.01),
        lambda o: lr_scheduler.PolynomialLR(o, total_iters=STEPS, power=2.0),
    ),
    (
        "adadelta",
        dict(lr=2.0),
        lambda o: lr_scheduler.ChainedScheduler(
            [
                lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=8),
                lr_scheduler.ExponentialLR(o, gamma=0.95),
            ]
        ),
    ),
]


@pytest.mark.parametrize(
    "name, kwargs, scheduler", SCHEDULES, ids=[s[0] for s in SCHEDULES]
)
def test_torch_lr_schedulers_drive_them(name, kwargs, scheduler):
    theirs = getattr(torch.optim, gt.OPTIMIZERS[name].__name__)
    assert_same_run(
        lambda g: gt.OPTIMIZERS[name](g, **kwargs),
        lambda g: theirs(g, **kwargs),
        kwargs["lr"],
        torch.float64,
        scheduler=scheduler,
    )


def continued_run(make, dtype=torch.float64, split=10, steps=20):
    """Parameters after ``steps`` steps, and after ``split`` steps + a
    state_dict round trip through torch.save into fresh parameters and a fresh
    optimizer + the remaining steps."""
    params = make_params(dtype)
    optimizer = make(param_groups(params, 0.05))
    for t in range(steps):
        if t == split:
            buffer = io.BytesIO()
            torch.save(
                {
                    "params": [p.detach().clone() for p in params],
                    "optimizer": optimizer.state_dict(),
                },
                buffer,
            )
        backward_step(params, optimizer, t)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    restored = [p.clone().requires_grad_() for p in saved["params"]]
    optimizer = make(param_groups(restored, 0.05))
    optimizer.load_state_dict(saved["optimizer"])
    for t in range(split, steps):
        backward_step(restored, optimizer, t)
    return params, restored


ROUND_TRIP = [
    (cls, dict(lr=0.05, **kw))
    for cls, kw in [
        (gt.SGD, dict(momentum=0.9, dampening=0.1)),
        (gt.Adagrad, dict(lr_decay=0.01)),
        (gt.RMSprop, dict(momentum=0.5, centered=True)),
        (gt.Adadelta, {}),
        (gt.Adam, dict(amsgrad=True)),
        (gt.AdamW, {}),
        (gt.FlatAdam, dict(amsgrad=True, backend="eager")),
        (gt.FlatAdamW, dict(backend="eager")),
        (gt.FlatSGD, dict(momentum=0.9, nesterov=True, backend="eager")),
    ]
]


@pytest.mark.parametrize(
    "cls, kwargs", ROUND_TRIP, ids=[cls.__name__ for cls, _ in ROUND_TRIP]
)
def test_state_dict_round_trip_continues_bit_identically(cls, kwargs):
    for dtype in (torch.float64, torch.float32):
        uninterrupted, resumed = continued_run(
            lambda g: cls(g, **kwargs), dtype
        )
        for p, q in zip(uninterrupted, resumed, strict=True):
            assert torch.equal(p, q)


@pytest.mark.parametrize(
    "reference, kwargs, error, name",
    BAD_ARGUMENTS,
    ids=[f"{cls.__name__}-{kwargs}" for cls, kwargs, _, _ in BAD_ARGUMENTS],
)
def test_bad_hyper_parameter_named_as_in_numpy(reference, kwargs, error, name):
    with pytest.raises(error, match=name):
        torch_class(reference)([torch.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("cls", list(gt.OPTIMIZERS.values()))
def test_lr_schedule_callable_is_refused(cls):
    with pytest.raises(TypeError, match="lr.*lr_scheduler"):
        cls([torch.zeros(2, requires_grad=True)], lr=lambda t: 0.1)


def test_sparse_gradient_is_refused():
    p = torch.zeros(3, requires_grad=True)
    p.grad = torch.zeros(3).to_sparse()
    with pytest.raises(TypeError, match="sparse"):
        gt.Adam([p]).step()


def test_closure_is_evaluated_and_returned():
    params = make_params()
    optimizer = gt.SGD(params, lr=0.1)

    def closure():
        optimizer.zero_grad()
        value = loss(params, 0)
        value.backward()
        return value

    before = loss(params, 0).item()
    assert optimizer.step(closure).item() == pytest.approx(before)
    assert loss(params, 0).item() < before


@pytest.mark.gpu
@pytest.mark.parametrize(
    "reference, theirs, kwargs",
    CASES[::5],
    ids=[f"{r.__name__}({ids(kw)})" for r, _, kw in CASES[::5]],
)
def test_matches_torch_optim_on_cuda(reference, theirs, kwargs):
    assert_same_run(
        lambda g: torch_class(reference)(g, **kwargs),
        lambda g: theirs(g, foreach=False, **kwargs),
        kwargs["lr"],
        torch.float32,
        device="cuda",
    )

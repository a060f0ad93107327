"""Lion, Schedule-Free AdamW and Muon: gdbook's NumPy references and torch
classes against lion-pytorch, Facebook Research's schedulefree and
torch.optim.Muon in float64, step by step; bad input; state dicts both
ways."""

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
lion_pytorch = pytest.importorskip("lion_pytorch")
schedulefree = pytest.importorskip("schedulefree")

from gdbook import schedules  # noqa: E402
from gdbook.optim.lion import Lion  # noqa: E402
from gdbook.optim.muon import Muon, newton_schulz  # noqa: E402
from gdbook.optim.schedule_free import AdamWScheduleFree  # noqa: E402
from gdbook.torch.optim.lion import Lion as TorchLion  # noqa: E402
from gdbook.torch.optim.muon import Muon as TorchMuon  # noqa: E402
from gdbook.torch.optim.schedule_free import (  # noqa: E402
    AdamWScheduleFree as TorchAdamWScheduleFree,
)

DIM = 6
STEPS = 30
RTOL, ATOL = 1e-10, 1e-12
_rng = np.random.default_rng(0)
_Q = np.linalg.qr(_rng.standard_normal((DIM, DIM)))[0]
A = _Q @ np.diag(np.linspace(0.5, 2.0, DIM)) @ _Q.T
X0 = _rng.standard_normal(DIM)
NOISE = 0.1 * _rng.standard_normal((STEPS, DIM))


def gradient(x, t):
    """A non-quadratic gradient with a fixed per-step noise, evaluated at each
    trajectory's own x (flattened)."""
    x = np.asarray(x).reshape(-1)
    return A @ x + np.sin(x) + NOISE[t]


def grid(**options):
    """Every combination of the given option values, as kwargs dicts."""
    return [
        dict(zip(options, values, strict=True))
        for values in itertools.product(*options.values())
    ]


def ids(kwargs):
    return ",".join(f"{k}={v}" for k, v in kwargs.items())


def torch_run(factory, shape=(DIM,), steps=STEPS):
    """A parameter, the optimizer ``factory([param])`` made (in train mode if
    it has one), and a function doing step t."""
    p = torch.tensor(X0.reshape(shape), dtype=torch.float64)
    p.requires_grad_(True)
    opt = factory([p])
    if hasattr(opt, "train"):
        opt.train()

    def step(t):
        p.grad = torch.from_numpy(gradient(p.detach().numpy(), t)).reshape(
            shape
        )
        opt.step()

    return p, opt, step


def group_values(group):
    return {k: v for k, v in group.items() if k != "params"}


def close(ours, theirs, what):
    np.testing.assert_allclose(
        ours, theirs, rtol=RTOL, atol=ATOL, err_msg=what
    )
    return float(np.max(np.abs(np.asarray(ours) - np.asarray(theirs))))


def numpy_vs_torch(ours, factory, shape=(DIM,), steps=STEPS):
    """Run the NumPy reference ``ours`` and the torch optimizer made by
    ``factory`` side by side; compare x and every state entry (an array with
    the torch state of the same name, a number with the param group's) after
    each step. Returns the largest difference seen."""
    p, opt, torch_step = torch_run(factory, shape, steps)
    x, state = X0.copy(), ours.init(X0)
    worst = 0.0
    for t in range(steps):
        x, state = ours.step(x, gradient(x, t), state)
        torch_step(t)
        worst = max(worst, close(x, p.detach().reshape(-1), f"x, step {t}"))
        torch_state, group = opt.state[p], opt.param_groups[0]
        assert state["step"] == t + 1
        assert float(torch_state.get("step", group.get("k", t + 1))) == t + 1
        for key, value in state.items():
            if key == "step":
                continue
            theirs = (
                torch_state[key].reshape(-1).numpy()
                if key in torch_state
                else group[key]
            )
            worst = max(worst, close(value, theirs, f"{key}, step {t}"))
    return worst, x, state, p, opt


def torch_vs_torch(ours, theirs, shape=(DIM,), steps=STEPS):
    """Run two torch optimizers side by side; parameters, state tensors and
    param group values must agree after every step."""
    p, opt, step = torch_run(ours, shape, steps)
    q, ref, ref_step = torch_run(theirs, shape, steps)
    worst = 0.0
    for t in range(steps):
        step(t)
        ref_step(t)
        worst = max(worst, close(p.detach(), q.detach(), f"param, step {t}"))
        assert opt.state[p].keys() == ref.state[q].keys()
        for key, value in ref.state[q].items():
            worst = max(
                worst, close(opt.state[p][key], value, f"{key}, step {t}")
            )
        assert group_values(opt.param_groups[0]) == group_values(
            ref.param_groups[0]
        )
    return worst, p, opt, q, ref


def round_trip(ours, theirs, shape=(DIM,), steps=10):
    """5 steps with each class, the state dict of each loaded into the other,
    5 more steps: both continue exactly as the uninterrupted runs."""
    for first, second in ((ours, theirs), (theirs, ours)):
        p, opt, step = torch_run(first, shape)
        q, ref, ref_step = torch_run(first, shape)
        for t in range(steps // 2):
            step(t)
            ref_step(t)
        r, moved, moved_step = torch_run(second, shape)
        with torch.no_grad():
            r.copy_(p)
        moved.load_state_dict(opt.state_dict())
        for t in range(steps // 2, steps):
            moved_step(t)
            ref_step(t)
            torch.testing.assert_close(r, q, rtol=0, atol=0)
        torch.testing.assert_close(
            moved.state_dict()["state"], ref.state_dict()["state"]
        )


# ----------------------------------------------------------------- Lion

LION_GRID = grid(
    betas=[(0.9, 0.99), (0.5, 0.8)],
    weight_decay=[0.0, 0.1],
    decoupled_weight_decay=[False, True],
)


@pytest.mark.parametrize("kwargs", LION_GRID, ids=ids)
def test_lion_matches_lion_pytorch(kwargs):
    numpy_vs_torch(
        Lion(lr=0.01, **kwargs),
        lambda p: lion_pytorch.Lion(p, lr=0.01, **kwargs),
    )
    torch_vs_torch(
        lambda p: TorchLion(p, lr=0.01, **kwargs),
        lambda p: lion_pytorch.Lion(p, lr=0.01, **kwargs),
    )


def test_lion_defaults_and_a_schedule_match_lion_pytorch():
    numpy_vs_torch(Lion(), lambda p: lion_pytorch.Lion(p))
    torch_vs_torch(TorchLion, lion_pytorch.Lion)

    ours = Lion(
        lr=schedules.exponential(0.01, gamma=0.9),
        weight_decay=0.5,
        decoupled_weight_decay=True,
    )
    p, opt, step = torch_run(
        lambda params: lion_pytorch.Lion(
            params, lr=0.01, weight_decay=0.5, decoupled_weight_decay=True
        )
    )
    scheduler = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
    x, state = X0.copy(), ours.init(X0)
    for t in range(STEPS):
        x, state = ours.step(x, gradient(x, t), state)
        step(t)
        scheduler.step()
        close(x, p.detach().numpy(), f"x, step {t}")


def test_lion_state_dicts_load_both_ways():
    kwargs = dict(lr=0.01, weight_decay=0.1)
    round_trip(
        lambda p: TorchLion(p, **kwargs),
        lambda p: lion_pytorch.Lion(p, **kwargs),
    )


LION_BAD = [
    (dict(lr=-0.1), ValueError, "lr"),
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(lr="0.1"), TypeError, "lr"),
    (dict(betas=(1.0, 0.99)), ValueError, "betas"),
    (dict(betas=(0.9, -0.1)), ValueError, "betas"),
    (dict(betas=0.9), TypeError, "betas"),
    (dict(weight_decay=-0.1), ValueError, "weight_decay"),
    (dict(decoupled_weight_decay="yes"), TypeError, "decoupled_weight"),
    (dict(lr=0.0, decoupled_weight_decay=True), ValueError, "lr"),
]


@pytest.mark.parametrize("kwargs, error, name", LION_BAD, ids=str)
def test_lion_refuses_bad_input(kwargs, error, name):
    with pytest.raises(error, match=name):
        Lion(**kwargs)
    with pytest.raises(error, match=name):
        TorchLion([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match="use_triton"):
        TorchLion([torch.zeros(2, requires_grad=True)], use_triton=True)


# ------------------------------------------------- Schedule-Free AdamW

SF_GRID = grid(
    betas=[(0.9, 0.999), (0.5, 0.9)],
    weight_decay=[0.0, 0.1],
    warmup_steps=[0, 10],
    r=[0.0, 1.0],
    weight_lr_power=[2.0, 0.0],
)


@pytest.mark.parametrize("kwargs", SF_GRID, ids=ids)
def test_schedule_free_matches_schedulefree(kwargs):
    """y (train mode) and the state after every step, then x (eval mode)."""
    ours = AdamWScheduleFree(lr=0.05, **kwargs)
    _, y, state, p, opt = numpy_vs_torch(
        ours, lambda p: schedulefree.AdamWScheduleFree(p, lr=0.05, **kwargs)
    )
    _, q, mine, _, _ = torch_vs_torch(
        lambda p: TorchAdamWScheduleFree(p, lr=0.05, **kwargs),
        lambda p: schedulefree.AdamWScheduleFree(p, lr=0.05, **kwargs),
    )
    x = ours.eval_point(y, state)
    opt.eval()
    mine.eval()
    close(x, p.detach().numpy(), "x (eval mode)")
    close(q.detach().numpy(), p.detach().numpy(), "x (eval mode)")
    close(ours.train_point(x, state), y, "y recovered from x")
    opt.train()
    mine.train()
    close(q.detach().numpy(), p.detach().numpy(), "y (train mode again)")


def test_schedule_free_defaults_and_foreach_match_schedulefree():
    numpy_vs_torch(AdamWScheduleFree(), schedulefree.AdamWScheduleFree)
    for foreach in (True, False, None):
        torch_vs_torch(
            lambda p, f=foreach: TorchAdamWScheduleFree(p, foreach=f),
            lambda p, f=foreach: schedulefree.AdamWScheduleFree(p, foreach=f),
        )


def test_schedule_free_x_is_the_average_of_z():
    """x = (y - (1 - beta1) z) / beta1 is the c_t-weighted average of z."""
    ours = AdamWScheduleFree(lr=0.05, betas=(0.8, 0.99), r=1.0)
    y, state = X0.copy(), ours.init(X0)
    x = X0.copy()
    for t in range(STEPS):
        weight_sum = state["weight_sum"]
        y, state = ours.step(y, gradient(y, t), state)
        c = 1 - weight_sum / state["weight_sum"]
        x = (1 - c) * x + c * state["z"]
        close(ours.eval_point(y, state), x, f"x, step {t}")


def test_schedule_free_steps_only_in_train_mode():
    p = torch.zeros(2, requires_grad=True)
    p.grad = torch.ones(2)
    opt = TorchAdamWScheduleFree([p])
    with pytest.raises(RuntimeError, match="train"):
        opt.step()
    opt.train()
    opt.step()
    opt.eval()
    with pytest.raises(RuntimeError, match="train"):
        opt.step()


def test_schedule_free_state_dicts_load_both_ways():
    kwargs = dict(lr=0.05, weight_decay=0.1, warmup_steps=3)
    round_trip(
        lambda p: TorchAdamWScheduleFree(p, **kwargs),
        lambda p: schedulefree.AdamWScheduleFree(p, **kwargs),
    )


SF_BAD = [
    (dict(lr=-0.1), ValueError, "lr"),
    (dict(lr=float("inf")), ValueError, "lr"),
    (dict(betas=(0.0, 0.999)), ValueError, "betas"),
    (dict(betas=(0.9, 1.0)), ValueError, "betas"),
    (dict(betas=(0.9,)), TypeError, "betas"),
    (dict(eps=-1e-8), ValueError, "eps"),
    (dict(weight_decay=-0.1), ValueError, "weight_decay"),
    (dict(warmup_steps=-1), ValueError, "warmup_steps"),
    (dict(warmup_steps=2.5), TypeError, "warmup_steps"),
    (dict(r=-1.0), ValueError, "r must"),
    (dict(weight_lr_power=float("nan")), ValueError, "weight_lr_power"),
]


@pytest.mark.parametrize("kwargs, error, name", SF_BAD, ids=str)
def test_schedule_free_refuses_bad_input(kwargs, error, name):
    with pytest.raises(error, match=name):
        AdamWScheduleFree(**kwargs)
    with pytest.raises(error, match=name):
        TorchAdamWScheduleFree([torch.zeros(2, requires_grad=True)], **kwargs)


# ----------------------------------------------------------------- Muon


@pytest.fixture
def float64_newton_schulz(monkeypatch):
    """torch.optim.Muon (and gdbook's, which follows it) casts the momentum to
    bfloat16 for the Newton-Schulz iteration; without that cast, torch's own
    code runs in float64 and can be compared with the reference to
    round-off."""
    monkeypatch.setattr(
        torch.Tensor, "bfloat16", lambda self, *a, **k: self.clone()
    )


MUON_GRID = [
    dict(shape=shape, **kw)
    for shape in [(3, 2), (2, 3)]
    for kw in grid(
        momentum=[0.95, 0.0],
        nesterov=[True, False],
        weight_decay=[0.0, 0.1],
        adjust_lr_fn=[None, "original", "match_rms_adamw"],
    )
] + [
    dict(shape=(3, 2), ns_steps=2),
    dict(shape=(3, 2), ns_steps=0),
    dict(shape=(2, 3), ns_coefficients=(1.875, -1.25, 0.375), ns_steps=8),
    dict(shape=(3, 2), eps=1e-3),
]


@pytest.mark.parametrize("kwargs", MUON_GRID, ids=ids)
def test_muon_matches_torch_optim_muon(kwargs, float64_newton_schulz):
    shape = kwargs.pop("shape")
    numpy_vs_torch(
        Muon(shape, lr=0.02, **kwargs),
        lambda p: torch.optim.Muon(p, lr=0.02, **kwargs),
        shape=shape,
    )
    torch_vs_torch(
        lambda p: TorchMuon(p, lr=0.02, **kwargs),
        lambda p: torch.optim.Muon(p, lr=0.02, **kwargs),
        shape=shape,
    )


@pytest.mark.parametrize("shape", [(3, 2), (2, 3)])
def test_muon_in_bfloat16_is_torch_optim_muon_bit_for_bit(shape):
    """Unpatched, gdbook's class is torch's to the last bit, and the float64
    reference is within bfloat16 accuracy of both."""
    _, p, _, q, _ = torch_vs_torch(
        lambda p: TorchMuon(p, lr=0.02),
        lambda p: torch.optim.Muon(p, lr=0.02),
        shape=shape,
    )
    torch.testing.assert_close(p, q, rtol=0, atol=0)
    ours = Muon(shape, lr=0.02)
    x, state = X0.copy(), ours.init(X0)
    for t in range(STEPS):
        x, state = ours.step(x, gradient(x, t), state)
    np.testing.assert_allclose(x, q.detach().reshape(-1), atol=1e-2)


def test_muon_defaults_match_torch_optim_muon(float64_newton_schulz):
    numpy_vs_torch(Muon((3, 2)), torch.optim.Muon, shape=(3, 2))
    torch_vs_torch(TorchMuon, torch.optim.Muon, shape=(3, 2))


def test_newton_schulz_flattens_the_singular_values():
    """Singular values spread over four decades all end in [0.6, 1.3]."""
    rng = np.random.default_rng(1)
    U, _ = np.linalg.qr(rng.standard_normal((8, 5)))
    V, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    G = U @ np.diag(np.logspace(0, -3, 5)) @ V.T
    s = np.linalg.svd(newton_schulz(G, steps=10), compute_uv=False)
    assert s.min() > 0.6 and s.max() < 1.3


def test_muon_state_dicts_load_both_ways():
    round_trip(
        lambda p: TorchMuon(p, lr=0.02),
        lambda p: torch.optim.Muon(p, lr=0.02),
        shape=(3, 2),
    )


MUON_BAD = [
    (dict(lr=-0.1), ValueError, "lr"),
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(weight_decay=-0.1), ValueError, "weight_decay"),
    (dict(momentum=-0.5), ValueError, "momentum"),
    (dict(nesterov=1), TypeError, "nesterov"),
    (dict(ns_coefficients=(1.0, 2.0)), TypeError, "ns_coefficients"),
    (dict(ns_coefficients=(1.0, 2.0, "3")), TypeError, "ns_coefficients"),
    (dict(eps=-1.0), ValueError, "eps"),
    (dict(ns_steps=100), ValueError, "ns_steps"),
    (dict(ns_steps=-1), ValueError, "ns_steps"),
    (dict(ns_steps=2.0), TypeError, "ns_steps"),
    (dict(adjust_lr_fn="sqrt"), ValueError, "adjust_lr_fn"),
]


@pytest.mark.parametrize("kwargs, error, name", MUON_BAD, ids=str)
def test_muon_refuses_bad_input(kwargs, error, name):
    with pytest.raises(error, match=name):
        Muon((3, 2), **kwargs)
    with pytest.raises(error, match=name):
        TorchMuon([torch.zeros(3, 2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize(
    "shape, error", [((3,), TypeError), ((3, 0), ValueError), (6, TypeError)]
)
def test_muon_refuses_a_bad_shape(shape, error):
    with pytest.raises(error, match="shape"):
        Muon(shape)


def test_muon_refuses_a_mismatched_x0_and_non_matrices():
    with pytest.raises(ValueError, match="x0"):
        Muon((3, 2)).init(np.zeros(5))
    for bad in (torch.zeros(3), torch.zeros(2, 2, 2), torch.zeros(2, 2) * 1j):
        with pytest.raises(ValueError, match="2-D"):
            TorchMuon([bad.requires_grad_()])

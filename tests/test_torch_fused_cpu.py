"""The "fused" backend: torch's fused optimizer kernels on the flat buffer, the
default on CPU.

FlatSGD on it is torch.optim.SGD's for-loop bit for bit. FlatAdam and FlatAdamW
keep the eager formula's moments bit for bit (unless coupled weight decay feeds
the parameters into them) and move the parameters by the same update computed
in another order, so they stay within float round-off of eager, a bound that
grows with the number of steps (:func:`assert_within_round_off`).
"""

import pytest

torch = pytest.importorskip("torch")

from test_optim_parity import SGD_GRID, grid, ids  # noqa: E402
from test_torch_optim import (  # noqa: E402
    hand_over,
    make_params,
    one_thread,  # noqa: E402, F401  (an autouse fixture)
    param_groups,
)

import gdbook.torch as gt  # noqa: E402

STEPS = 20
DTYPES = (torch.float64, torch.float32)
ADAM_CASES = [
    (gt.FlatAdam, kw)
    for kw in grid(
        amsgrad=[False, True],
        weight_decay=[0.0, 0.1],
        maximize=[False, True],
        decoupled_weight_decay=[False, True],
    )
] + [
    (gt.FlatAdamW, kw)
    for kw in grid(amsgrad=[False, True], maximize=[False, True])
]
lr_scheduler = torch.optim.lr_scheduler


def assert_within_round_off(actual, expected, steps, scale):
    """``|actual - expected| <= 4 * steps * u * (|expected| + scale)``, u the
    unit round-off of the dtype (2^-24 in float32, 2^-53 in float64). Each step
    may round a parameter once more (at most 2u|p|) and its update, of size
    about lr (the ``scale`` of a parameter), in another order (a few u * lr);
    the differences add up over the steps. Measured: at most 2.5 * steps * u *
    (|p| + lr) over the options."""
    u = torch.finfo(expected.dtype).eps / 2
    torch.testing.assert_close(
        actual, expected, rtol=4 * steps * u, atol=4 * steps * u * scale
    )


def side_by_side(
    make_ours,
    make_theirs,
    lr,
    dtype,
    steps=STEPS,
    scheduler=None,
    params=make_params,
):
    """Run both optimizers (``make(param_groups) -> optimizer``) on the same
    gradients, random and of sizes from 1e-3 to 10, so that only their
    arithmetic differs; yield
    ``(step number, [(param, its state, theirs' param, its state), ...])``
    after each step."""
    a, b = params(dtype), params(dtype)
    ours, theirs = (
        make_ours(param_groups(a, lr)),
        make_theirs(param_groups(b, lr)),
    )
    schedulers = [scheduler(ours), scheduler(theirs)] if scheduler else []
    generator = torch.Generator().manual_seed(0)
    for t in range(steps):
        for p, q in zip(a, b, strict=True):
            grad = 10.0 ** (t % 5 - 3) * torch.randn(
                p.shape, generator=generator, dtype=dtype
            )
            for x in (p, q):
                # in place where a grad exists: a flat optimizer's grads are
                # views of its buffer
                x.grad = grad.clone() if x.grad is None else x.grad.copy_(grad)
        ours.step(), theirs.step()
        for s in schedulers:
            s.step()
        yield (
            t + 1,
            [
                (p, ours.state[p], q, theirs.state[q])
                for p, q in zip(a, b, strict=True)
            ],
        )


def assert_adam_close(pairs, steps, lr, weight_decay, coupled):
    """Parameters within round-off; moments bit for bit, or with coupled weight
    decay (which feeds the parameters' round-off into them) within round-off on
    the scale weight_decay * (max |p| + lr)."""
    largest = max(q.abs().max().item() for _, _, q, _ in pairs)
    for p, state, q, expected in pairs:
        assert (
            state.keys() == expected.keys()
            and float(state["step"]) == float(expected["step"]) == steps
        )
        assert_within_round_off(p.detach(), q.detach(), steps, scale=lr)
        for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            if name not in expected:
                continue
            if coupled:
                scale = weight_decay * (largest + lr)
                assert_within_round_off(
                    state[name], expected[name], steps, scale=scale
                )
            else:
                assert torch.equal(state[name], expected[name]), (
                    f"{name} after {steps} steps"
                )


@pytest.mark.parametrize(
    "cls", [gt.FlatAdam, gt.FlatAdamW, gt.FlatSGD], ids=lambda c: c.__name__
)
def test_auto_is_fused_on_cpu_where_torch_has_the_kernel(cls):
    for dtype in DTYPES:
        assert cls(make_params(dtype)).backend == "fused"
    for dtype in (
        torch.float16,
        torch.bfloat16,
    ):  # torch 2.13's CPU fused SGD skips their updates
        assert cls(make_params(dtype)).backend == "eager"


def test_fused_backend_is_refused_where_it_cannot_run():
    with pytest.raises(
        ValueError,
        match=r"backend='fused' needs .*float32.*got \['cpu torch.bfloat16'\]",
    ):
        gt.FlatSGD(make_params(torch.bfloat16), backend="fused")
    mixed = make_params(torch.float32)
    mixed[1] = mixed[1].detach().half().requires_grad_()
    assert (
        gt.FlatAdam(mixed).backend == "eager"
    )  # auto: one kernel for all buffers, so eager for both


@pytest.mark.parametrize("kwargs", SGD_GRID, ids=ids)
def test_fused_sgd_is_torch_optim_bit_for_bit(kwargs):
    for dtype in DTYPES:
        for steps, pairs in side_by_side(
            lambda g: gt.FlatSGD(g, lr=0.02, backend="fused", **kwargs),
            lambda g: torch.optim.SGD(g, lr=0.02, foreach=False, **kwargs),
            0.02,
            dtype,
        ):
            for p, state, q, expected in pairs:
                assert torch.equal(p, q), (
                    f"{dtype} parameter after {steps} steps"
                )
                assert state.keys() == expected.keys()
                assert all(
                    torch.equal(state[name], expected[name])
                    for name in expected
                )


@pytest.mark.parametrize(
    "cls, kwargs",
    ADAM_CASES,
    ids=[f"{c.__name__}({ids(kw)})" for c, kw in ADAM_CASES],
)
def test_fused_adam_is_eager_within_round_off(cls, kwargs):
    weight_decay = kwargs.get("weight_decay", 1e-2)
    coupled = (
        cls is gt.FlatAdam
        and bool(weight_decay)
        and not kwargs["decoupled_weight_decay"]
    )
    for dtype in DTYPES:
        for steps, pairs in side_by_side(
            lambda g: cls(g, lr=0.01, backend="fused", **kwargs),
            lambda g: cls(g, lr=0.01, backend="eager", **kwargs),
            0.01,
            dtype,
        ):
            assert_adam_close(pairs, steps, 0.01, weight_decay, coupled)


def test_a_scheduler_changes_the_hyper_parameters_at_every_step():
    """OneCycleLR moves lr and beta1 (Adam) or momentum (SGD) at every step;
    the kernels read them anew."""

    def one_cycle(optimizer):
        return lr_scheduler.OneCycleLR(
            optimizer, max_lr=0.1, total_steps=STEPS + 1
        )

    for steps, pairs in side_by_side(
        lambda g: gt.FlatAdam(g, lr=0.05, amsgrad=True, backend="fused"),
        lambda g: gt.FlatAdam(g, lr=0.05, amsgrad=True, backend="eager"),
        0.05,
        torch.float32,
        scheduler=one_cycle,
    ):
        assert_adam_close(pairs, steps, 0.1, 0.0, coupled=False)
    for _, pairs in side_by_side(
        lambda g: gt.FlatSGD(g, lr=0.05, momentum=0.9, backend="fused"),
        lambda g: torch.optim.SGD(g, lr=0.05, momentum=0.9, foreach=False),
        0.05,
        torch.float32,
        scheduler=one_cycle,
    ):
        assert all(torch.equal(p, q) for p, _, q, _ in pairs)


def large_params(dtype):
    """Sizes that leave the vector kernels a scalar remainder and split over
    threads into uneven parts."""
    generator = torch.Generator().manual_seed(1)
    return [
        torch.randn(s, generator=generator, dtype=dtype).requires_grad_()
        for s in [(123, 45), (4099,), (3,), (1000,)]
    ]


def test_a_large_buffer_on_two_threads():
    torch.set_num_threads(2)  # the autouse fixture restores the count
    nesterov = dict(lr=0.02, momentum=0.9, nesterov=True)
    for _, pairs in side_by_side(
        lambda g: gt.FlatSGD(g, backend="fused", **nesterov),
        lambda g: torch.optim.SGD(g, foreach=False, **nesterov),
        0.02,
        torch.float32,
        steps=5,
        params=large_params,
    ):
        assert all(torch.equal(p, q) for p, _, q, _ in pairs)
    for steps, pairs in side_by_side(
        lambda g: gt.FlatAdamW(g, lr=0.01, backend="fused"),
        lambda g: gt.FlatAdamW(g, lr=0.01, backend="eager"),
        0.01,
        torch.float32,
        steps=5,
        params=large_params,
    ):
        assert_adam_close(pairs, steps, 0.01, 1e-2, coupled=False)


@pytest.mark.parametrize(
    "flat, plain",
    [(gt.FlatAdam, torch.optim.Adam), (gt.FlatSGD, torch.optim.SGD)],
    ids=["adam", "sgd"],
)
def test_state_dicts_load_across_fused_flat_and_torch_optim(flat, plain):
    """Steps are counted once (the kernel reads the count and leaves it), so a
    state dict hands over to torch.optim and back, and the run ends where
    staying with torch.optim ends (within round-off)."""
    kwargs = (
        dict(lr=0.05, momentum=0.9)
        if plain is torch.optim.SGD
        else dict(lr=0.05, amsgrad=True)
    )

    def fused(ps, **kw):
        return flat(ps, backend="fused", **kw)

    expected, _ = hand_over(plain, plain, **kwargs)
    for first, second in ((fused, plain), (plain, fused), (fused, fused)):
        params, state = hand_over(first, second, **kwargs)
        if "amsgrad" in kwargs:
            assert {float(s["step"]) for s in state["state"].values()} == {5.0}
        for p, q in zip(params, expected, strict=True):
            assert_within_round_off(p.detach(), q.detach(), 10, scale=0.05)

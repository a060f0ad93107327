"""FlatAdam, FlatAdamW and FlatSGD: torch.optim's numbers, with parameters and
grads in one buffer. (FlatLion, FlatAdamax and FlatNAdam:
tests/test_torch_flat_beyond.py; their state dicts are handed over here.)"""

import pytest

torch = pytest.importorskip("torch")

from test_optim_parity import SGD_GRID, grid, ids  # noqa: E402
from test_torch_optim import (  # noqa: E402
    assert_same_run,
    backward_step,
    hand_over,
    make_params,
    one_thread,  # noqa: F401 (an autouse fixture)
)

import gdbook.torch as gt  # noqa: E402
from gdbook.torch.optim import backends  # noqa: E402
from gdbook.torch.optim.flat import ALIGNMENT_BYTES  # noqa: E402

lr_scheduler = torch.optim.lr_scheduler

CASES = (
    [
        (gt.FlatAdam, torch.optim.Adam, dict(lr=0.01, **kw))
        for kw in grid(
            amsgrad=[False, True],
            weight_decay=[0.0, 0.1],
            maximize=[False, True],
            decoupled_weight_decay=[False, True],
        )
    ]
    + [
        (gt.FlatAdamW, torch.optim.AdamW, dict(lr=0.01, **kw))
        for kw in grid(amsgrad=[False, True])
    ]
    + [(gt.FlatSGD, torch.optim.SGD, dict(lr=0.02, **kw)) for kw in SGD_GRID]
)
CASE_IDS = [f"{ours.__name__}({ids(kw)})" for ours, _, kw in CASES]


@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=CASE_IDS)
def test_matches_torch_optim(ours, theirs, kwargs):
    for dtype in (torch.float64, torch.float32):
        assert_same_run(
            lambda g: ours(g, backend="eager", **kwargs),
            lambda g: theirs(g, **kwargs),
            kwargs["lr"],
            dtype,
        )


def test_scheduler_and_mixed_dtypes():
    """An LR scheduler drives it; float32 and float64 parameters of one group
    get a buffer each."""

    def make(cls):
        params = make_params(torch.float64)
        params[1] = params[1].detach().float().requires_grad_()
        optimizer = cls(params, lr=0.05)
        return (
            params,
            optimizer,
            lr_scheduler.CosineAnnealingLR(optimizer, T_max=10),
        )

    (a, ours, s1), (b, theirs, s2) = make(gt.FlatAdam), make(torch.optim.Adam)
    assert len(ours.buffers) == 2 and {
        buf.param.dtype for buf in ours.buffers
    } == {torch.float32, torch.float64}
    for t in range(10):
        backward_step(a, ours, t), backward_step(b, theirs, t)
        s1.step(), s2.step()
    for p, q in zip(a, b, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def mlp():
    torch.manual_seed(0)
    return gt.MLP(3, hidden=(5, 7), out_features=2)


def inside(tensor, buffer):
    start = buffer.data_ptr()
    return (
        start
        <= tensor.data_ptr()
        < start + buffer.numel() * buffer.element_size()
    )


def test_parameters_and_grads_are_aligned_views_of_one_buffer():
    model = mlp()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = gt.FlatAdam(model.parameters(), backend="eager")
    (buffer,) = optimizer.buffers
    for p, value in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, value), "flattening keeps the values"
        assert inside(p, buffer.param) and inside(p.grad, buffer.grad)
        assert p.data_ptr() % ALIGNMENT_BYTES == 0
    assert buffer.param.numel() >= sum(p.numel() for p in model.parameters())


def test_backward_accumulates_into_the_buffer_and_zero_grad_keeps_the_views():
    model, x = mlp(), torch.randn(4, 3)
    optimizer = gt.FlatSGD(model.parameters(), lr=0.1, backend="eager")
    grads = [p.grad for p in model.parameters()]
    model(x).sum().backward()
    once = optimizer.buffers[0].grad.clone()
    model(x).sum().backward()
    torch.testing.assert_close(optimizer.buffers[0].grad, 2 * once)
    optimizer.zero_grad()
    assert optimizer.buffers[0].grad.abs().sum() == 0
    assert all(
        p.grad is g for p, g in zip(model.parameters(), grads, strict=True)
    )


def test_grads_set_to_none_by_the_model_are_gathered():
    """model.zero_grad() sets grads to None; backward then makes new ones,
    which step() copies in."""
    x = torch.randn(4, 3)
    (a, ours), (b, theirs) = [
        (m, cls(m.parameters(), lr=0.1))
        for m, cls in (
            (mlp(), lambda ps, lr: gt.FlatAdam(ps, lr=lr, backend="eager")),
            (mlp(), torch.optim.Adam),
        )
    ]
    for _ in range(3):
        for model, optimizer in ((a, ours), (b, theirs)):
            model.zero_grad(set_to_none=True)
            model(x).square().sum().backward()
            optimizer.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    assert all(inside(p.grad, ours.buffers[0].grad) for p in a.parameters())


def test_a_missing_grad_counts_as_zero_and_frozen_parameters_are_left_out():
    params = make_params()
    frozen = params[3].requires_grad_(False)
    before = frozen.clone()
    optimizer = gt.FlatSGD(params, lr=0.1, weight_decay=0.5, backend="eager")
    assert sum(len(b.params) for b in optimizer.buffers) == 3
    params[0].grad = None
    optimizer.step()
    expected = make_params()[0] * (1 - 0.1 * 0.5)
    torch.testing.assert_close(params[0].detach(), expected)
    assert torch.equal(frozen, before)


def lion_pytorch(params, **kwargs):
    """``lion_pytorch.Lion``, the per-tensor Lion that gdbook's Lion equals
    (the test skips where it is not installed)."""
    return pytest.importorskip("lion_pytorch").Lion(params, **kwargs)


HAND_OVER = [
    (gt.FlatAdam, torch.optim.Adam, dict(lr=0.05, amsgrad=True)),
    (gt.FlatSGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.2)),
] + [
    (flat, plain, kwargs)
    for flat, plains, kwargs in (
        (
            gt.FlatAdamax,
            (torch.optim.Adamax, gt.Adamax),
            dict(lr=0.05, weight_decay=0.1),
        ),
        (
            gt.FlatNAdam,
            (torch.optim.NAdam, gt.NAdam),
            dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
        ),
        (
            gt.FlatLion,
            (lion_pytorch, gt.Lion),
            dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
        ),
    )
    for plain in plains
]


@pytest.mark.parametrize(
    "flat, plain, kwargs",
    HAND_OVER,
    ids=[
        f"{flat.__name__}-"
        + (
            "lion_pytorch.Lion"
            if plain is lion_pytorch
            else f"{plain.__module__.split('.')[0]}.{plain.__name__}"
        )
        for flat, plain, _ in HAND_OVER
    ],
)
def test_state_dicts_load_across_flat_and_torch_optim(flat, plain, kwargs):
    """Start with one implementation, hand its state_dict to the other, and
    continue: both orders give the same parameters as staying with the
    per-tensor optimizer (torch.optim's, lion_pytorch's or gdbook's)
    throughout."""

    def flat_eager(ps, **kw):
        return flat(ps, backend="eager", **kw)

    expected, _ = hand_over(plain, plain, **kwargs)
    for first, second in ((flat_eager, plain), (plain, flat_eager)):
        for p, q in zip(
            hand_over(first, second, **kwargs)[0], expected, strict=True
        ):
            torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-12)


def test_loading_state_with_different_steps_in_one_buffer_is_refused():
    params = make_params()
    optimizer = torch.optim.Adam(params)
    for t in range(2):
        backward_step(params, optimizer, t)
    params[0].grad = None
    optimizer.step()  # params[0] stays at step 2, the others reach step 3
    with pytest.raises(ValueError, match="'step'"):
        gt.FlatAdam(make_params(), backend="eager").load_state_dict(
            optimizer.state_dict()
        )


def test_backend_choice_and_errors():
    assert (
        gt.FlatAdam(make_params()).backend == "fused"
    )  # auto on CPU: torch's fused kernel on the buffer
    with pytest.raises(ValueError, match="backend"):
        gt.FlatAdam(make_params(), backend="fastest")
    with pytest.raises(ValueError, match="triton"):
        gt.FlatSGD(make_params(), backend="triton")
    with pytest.raises(TypeError, match="floating-point"):
        gt.FlatSGD([torch.zeros(3, dtype=torch.int64)])


def test_compile_backend_matches_eager():
    """The compile backend gives the eager numbers while OneCycleLR changes lr
    and beta1 at every step. (One optimizer only: compiling on CPU takes
    seconds; the GPU tests cover FlatSGD too.)"""
    pytest.importorskip("torch._inductor")
    runs = []
    for backend in ("compile", "eager"):
        params = make_params(torch.float32)
        optimizer = gt.FlatAdam(
            params, lr=0.05, weight_decay=0.1, amsgrad=True, backend=backend
        )
        scheduler = lr_scheduler.OneCycleLR(
            optimizer, max_lr=0.1, total_steps=5
        )
        for t in range(4):
            backward_step(params, optimizer, t)
            scheduler.step()
        runs.append(params)
    for p, q in zip(*runs, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
@pytest.mark.parametrize("backend", ["auto", "triton", "compile", "eager"])
@pytest.mark.parametrize("ours, theirs, kwargs", CASES[::3], ids=CASE_IDS[::3])
def test_matches_torch_optim_on_cuda(backend, ours, theirs, kwargs):
    if backend == "triton" and backends.triton_kernels() is None:
        pytest.skip("triton is not installed")
    assert_same_run(
        lambda g: ours(g, backend=backend, **kwargs),
        lambda g: theirs(g, foreach=False, **kwargs),
        kwargs["lr"],
        torch.float32,
        device="cuda",
    )


@pytest.mark.gpu
def test_auto_backend_on_cuda_is_fused():
    optimizer = gt.FlatAdam(make_params(torch.float32, device="cuda"))
    assert optimizer.backend == (
        "triton" if backends.triton_kernels() is not None else "eager"
    )
    assert gt.FlatAdam(make_params(torch.float64, device="cuda")).backend in (
        "compile",
        "eager",
    )

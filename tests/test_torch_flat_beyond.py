"""FlatLion, FlatAdamax and FlatNAdam: the per-tensor gdbook classes' numbers,
with parameters and grads in one buffer; the backends each of them has.

(State dicts handed across them, their per-tensor classes, torch.optim and
lion_pytorch: tests/test_torch_flat.py.)
"""

import copy
import pickle
import types

import pytest

torch = pytest.importorskip("torch")

from test_optim_parity import grid, ids  # noqa: E402
from test_torch_optim import (  # noqa: E402
    backward_step,
    make_params,
    one_thread,  # noqa: F401 (an autouse fixture)
    param_groups,
    snapshot,
)

import gdbook.torch as gt  # noqa: E402
from gdbook.torch.optim import backends, fused, torch_fused  # noqa: E402

STEPS = 30
FLAT = {gt.FlatLion: gt.Lion, gt.FlatAdamax: gt.Adamax, gt.FlatNAdam: gt.NAdam}
# every option that changes the arithmetic, in every combination
OPTIONS = {
    gt.FlatLion: grid(
        weight_decay=[0.0, 0.1], decoupled_weight_decay=[False, True]
    ),
    gt.FlatAdamax: grid(weight_decay=[0.0, 0.1], maximize=[False, True]),
    gt.FlatNAdam: grid(
        weight_decay=[0.0, 0.1],
        maximize=[False, True],
        decoupled_weight_decay=[False, True],
    )
    + [dict(betas=(0.3, 0.8), momentum_decay=0.1)],
}
CASES = [
    (flat, dict(lr=0.01, **kw)) for flat, kws in OPTIONS.items() for kw in kws
]
CASE_IDS = [f"{flat.__name__}({ids(kw)})" for flat, kw in CASES]
lr_scheduler = torch.optim.lr_scheduler


def run(make, steps=STEPS, dtype=torch.float64, scheduler=None):
    """``steps`` steps of ``make(param_groups)`` on the two param groups of
    tests/test_torch_optim.py (four shapes, the second group with its own lr
    and no weight decay); yields ``(params, optimizer)`` after each."""
    params = make_params(dtype)
    optimizer = make(param_groups(params, 0.01))
    schedule = scheduler(optimizer) if scheduler else None
    for t in range(steps):
        backward_step(params, optimizer, t)
        if schedule:
            schedule.step()
        yield params, optimizer


def assert_same_runs(ours, theirs, **tolerance):
    """The parameters and the whole state (keys, step counts, tensors) of two
    runs agree after every step: bit for bit, or within ``tolerance``."""
    for t, ((a, opt_a), (b, opt_b)) in enumerate(
        zip(ours, theirs, strict=True)
    ):
        (values, keys), (expected, expected_keys) = (
            snapshot(opt_a, a),
            snapshot(opt_b, b),
        )
        assert keys == expected_keys, f"state keys or step counts at step {t}"
        if tolerance:
            torch.testing.assert_close(values, expected, **tolerance)
        else:
            assert torch.equal(values, expected), f"at step {t}"


@pytest.mark.parametrize("flat, kwargs", CASES, ids=CASE_IDS)
def test_matches_the_per_tensor_class_bit_for_bit(flat, kwargs):
    """On the eager backend the per-tensor function runs once on the buffer:
    the same elementwise operations, so the same float64 numbers, 30 steps,
    two param groups."""
    assert_same_runs(
        run(lambda g: flat(g, backend="eager", **kwargs)),
        run(lambda g: FLAT[flat](g, **kwargs)),
    )


@pytest.mark.parametrize("flat", FLAT, ids=lambda c: c.__name__)
def test_backends_it_has_and_those_it_refuses(flat):
    """torch has no fused kernel for these, nor gdbook a Triton one: "auto"
    runs eager on CPU, and "fused" or "triton" is refused by name, before the
    parameters are touched."""
    assert backends.available(flat.kernel) == ("auto", "compile", "eager")
    for dtype in (torch.float64, torch.float32, torch.bfloat16):
        assert flat(make_params(dtype)).backend == "eager"
    for backend in ("fused", "triton"):
        params = make_params()
        before = [p.data_ptr() for p in params]
        with pytest.raises(
            ValueError,
            match=rf"^{flat.__name__} has no backend '{backend}'; its "
            "backends are 'auto', 'compile', 'eager'$",
        ):
            flat(params, backend=backend)
        assert [p.data_ptr() for p in params] == before
    with pytest.raises(ValueError, match="backend must be one of"):
        flat(make_params(), backend="fastest")


def test_which_backend_has_which_update_is_what_the_modules_define():
    """backends.PROVIDERS, the one record, lists exactly the public update
    functions of each backend's module."""

    def updates(module):
        return {
            name
            for name, value in vars(module).items()
            if name.endswith("_")
            and not name.startswith("_")
            and callable(value)
        }

    assert updates(torch_fused) == set(backends.PROVIDERS["fused"])
    assert updates(fused) == set(backends.PROVIDERS["compile"])
    triton_kernels = backends.triton_kernels()
    if triton_kernels is not None:
        assert updates(triton_kernels) == set(backends.PROVIDERS["triton"])
    for flat in (gt.FlatAdam, gt.FlatSGD):
        assert backends.available(flat.kernel) == backends.BACKENDS


def test_auto_on_cuda_is_compile_where_there_is_no_triton_kernel(
    monkeypatch,
):
    """The choice on CUDA, checked without a GPU: with Triton installed, Adam
    gets its Triton kernel and the others the compiled formula; without,
    eager."""
    cuda = types.SimpleNamespace(
        is_cuda=True,
        device=torch.device("cuda"),
        dtype=torch.float32,
    )
    for triton_kernels, lion, adam in (
        (None, "eager", "eager"),
        (object(), "compile", "triton"),
    ):
        monkeypatch.setattr(
            backends, "triton_kernels", lambda t=triton_kernels: t
        )
        assert backends.resolve("auto", [cuda], gt.Lion.kernel) == lion
        assert backends.resolve("auto", [cuda], gt.Adam.kernel) == adam
        with pytest.raises(ValueError, match="Lion has no backend 'triton'"):
            backends.resolve("triton", [cuda], gt.Lion.kernel, "FlatLion")


@pytest.mark.parametrize("flat", FLAT, ids=lambda c: c.__name__)
def test_the_per_tensor_class_points_to_its_flat_class(flat):
    per_tensor = FLAT[flat]
    assert per_tensor.fused_alternative == flat.__name__
    assert getattr(gt, flat.__name__) is flat
    if per_tensor is not gt.Lion:  # Lion has no foreach flag
        with pytest.raises(ValueError, match=f"gdbook.torch.{flat.__name__}"):
            per_tensor(make_params(), foreach=True)
        # the flat class itself offers the backends it has, not 'fused'
        with pytest.raises(ValueError, match="use backend='auto'"):
            flat(make_params(), foreach=True)


@pytest.mark.parametrize("flat", FLAT, ids=lambda c: c.__name__)
def test_copies_continue_as_the_original(flat):
    """deepcopy and pickle keep the state and the optimizer-wide settings
    (Lion's decoupled decay among them); the copy steps as the original."""
    kwargs = dict(lr=0.01, weight_decay=0.1)
    if flat is not gt.FlatAdamax:
        kwargs["decoupled_weight_decay"] = True
    for copied in (copy.deepcopy, lambda x: pickle.loads(pickle.dumps(x))):
        params = make_params()
        optimizer = flat(params, backend="eager", **kwargs)
        for t in range(3):
            backward_step(params, optimizer, t)
        params_copy, copy_ = copied((params, optimizer))
        for t in range(3, 6):
            backward_step(params, optimizer, t)
            backward_step(params_copy, copy_, t)
        values, keys = snapshot(optimizer, params)
        values_copy, keys_copy = snapshot(copy_, params_copy)
        assert keys == keys_copy and torch.equal(values, values_copy)


def cpu_compiler():
    """Skip unless torch.compile finds a C++ compiler for CPU code."""
    pytest.importorskip("torch._inductor")
    from torch._inductor.cpp_builder import get_cpp_compiler

    try:
        get_cpp_compiler()
    except (RuntimeError, OSError) as error:
        pytest.skip(f"torch.compile has no C++ compiler on CPU: {error}")


@pytest.mark.parametrize(
    "flat, kwargs",
    [
        (gt.FlatLion, dict(weight_decay=0.1, decoupled_weight_decay=True)),
        (gt.FlatAdamax, dict(weight_decay=0.1, maximize=True)),
        (gt.FlatNAdam, dict(weight_decay=0.1, decoupled_weight_decay=True)),
    ],
    ids=["FlatLion", "FlatAdamax", "FlatNAdam"],
)
def test_compile_backend_matches_eager(flat, kwargs):
    """The compiled formulas of gdbook.torch.optim.fused give the eager numbers
    in float32 while OneCycleLR changes lr and beta1 at every step. (One case
    each: compiling on CPU takes seconds.)"""
    cpu_compiler()

    def make(backend):
        def optimizer(groups):
            made = flat(groups, lr=0.05, backend=backend, **kwargs)
            assert made.backend == backend
            return made

        return optimizer

    def schedule(optimizer):
        return lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=6)

    assert_same_runs(
        *(
            run(make(backend), 5, torch.float32, schedule)
            for backend in ("compile", "eager")
        ),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.gpu
@pytest.mark.parametrize("flat, kwargs", CASES[::3], ids=CASE_IDS[::3])
def test_cuda_auto_and_compile_match_eager(flat, kwargs):
    """On CUDA "auto" is compile (Triton installed) or eager, "triton" is
    refused, and both backends give the per-tensor class's numbers."""
    params = make_params(torch.float32, device="cuda")
    assert flat(params).backend == (
        "compile" if backends.triton_kernels() is not None else "eager"
    )
    with pytest.raises(ValueError, match="has no backend 'triton'"):
        flat(params, backend="triton")
    for backend in ("auto", "eager"):
        a, b = (
            make_params(torch.float32, "cuda"),
            make_params(torch.float32, "cuda"),
        )
        ours = flat(param_groups(a, 0.01), backend=backend, **kwargs)
        theirs = FLAT[flat](param_groups(b, 0.01), **kwargs)
        for t in range(10):
            backward_step(a, ours, t), backward_step(b, theirs, t)
        for p, q in zip(a, b, strict=True):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)

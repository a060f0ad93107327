"""Adamax, NAdam and RAdam: the NumPy references and the gdbook.torch classes
against torch.optim in float64, every option, step by step; their bad input;
and state dicts handed between gdbook.torch and torch.optim."""

import copy
import inspect

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from test_optim_parity import assert_same_run, grid, ids  # noqa: E402
from test_torch_optim import (  # noqa: E402
    assert_same_run as assert_same_torch_run,
)
from test_torch_optim import (  # noqa: E402
    backward_step,
    make_params,
    param_groups,
)

from gdbook import schedules  # noqa: E402
from gdbook.optim.adamax import Adamax  # noqa: E402
from gdbook.optim.nadam import NAdam  # noqa: E402
from gdbook.optim.radam import RAdam  # noqa: E402
from gdbook.torch.optim.adamax import Adamax as TorchAdamax  # noqa: E402
from gdbook.torch.optim.nadam import NAdam as TorchNAdam  # noqa: E402
from gdbook.torch.optim.radam import RAdam as TorchRAdam  # noqa: E402

NAN, INF = float("nan"), float("inf")
BETAS = [(0.9, 0.999), (0.3, 0.6)]

# (NumPy reference, gdbook.torch class, torch.optim class, kwargs)
CASES = (
    [
        (Adamax, TorchAdamax, torch.optim.Adamax, dict(lr=0.02, **kw))
        for kw in grid(
            betas=BETAS, weight_decay=[0.0, 0.1], maximize=[False, True]
        )
    ]
    + [
        (NAdam, TorchNAdam, torch.optim.NAdam, dict(lr=0.02, **kw))
        for kw in grid(
            betas=BETAS,
            weight_decay=[0.0, 0.1],
            decoupled_weight_decay=[False, True],
            momentum_decay=[0.0, 4e-3, 0.05],
            maximize=[False, True],
        )
    ]
    + [
        # beta2 = 0.999 or 0.9: momentum steps up to t = 5, rectified ones
        # after; beta2 = 0.6: rho_inf = 4, never rectified
        (RAdam, TorchRAdam, torch.optim.RAdam, dict(lr=0.02, **kw))
        for kw in grid(
            betas=[(0.9, 0.999), (0.5, 0.9), (0.3, 0.6)],
            weight_decay=[0.0, 0.1],
            decoupled_weight_decay=[False, True],
            maximize=[False, True],
        )
    ]
)
CASE_IDS = [f"{ref.__name__}({ids(kw)})" for ref, _, _, kw in CASES]
CLASSES = [
    (Adamax, TorchAdamax, torch.optim.Adamax),
    (NAdam, TorchNAdam, torch.optim.NAdam),
    (RAdam, TorchRAdam, torch.optim.RAdam),
]
CLASS_IDS = [ref.__name__ for ref, _, _ in CLASSES]


@pytest.fixture(autouse=True)
def one_thread():
    """On tensors this small, one intra-op thread is fastest."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("reference, _, theirs, kwargs", CASES, ids=CASE_IDS)
def test_reference_matches_torch_optim(reference, _, theirs, kwargs):
    assert_same_run(reference(**kwargs), (theirs, kwargs))


@pytest.mark.parametrize("_, ours, theirs, kwargs", CASES, ids=CASE_IDS)
def test_torch_class_matches_torch_optim(_, ours, theirs, kwargs):
    for dtype in (torch.float64, torch.float32):
        assert_same_torch_run(
            lambda g: ours(g, **kwargs),
            lambda g: theirs(g, **kwargs),
            kwargs["lr"],
            dtype,
        )


@pytest.mark.parametrize("reference, ours, theirs", CLASSES, ids=CLASS_IDS)
def test_defaults_match_torch_optim(reference, ours, theirs):
    assert_same_run(reference(), (theirs, {}))
    assert_same_torch_run(ours, theirs, lr=reference().lr, dtype=torch.float64)


@pytest.mark.parametrize("reference, ours, theirs", CLASSES, ids=CLASS_IDS)
def test_schedule_matches_torch_scheduler(reference, ours, theirs):
    lr_scheduler = torch.optim.lr_scheduler
    assert_same_run(
        reference(lr=schedules.exponential(0.05, gamma=0.9)),
        (theirs, dict(lr=0.05)),
        theirs_schedule=lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
    )


@pytest.mark.parametrize("reference, ours, theirs", CLASSES, ids=CLASS_IDS)
def test_same_arguments_and_defaults_as_torch_optim(reference, ours, theirs):
    def arguments(cls):
        return [
            (p.name, p.kind, p.default)
            for p in inspect.signature(cls).parameters.values()
        ]

    assert arguments(ours) == arguments(theirs)
    params = [torch.zeros(2, requires_grad=True)]
    assert ours(params).defaults == theirs(params).defaults
    for flag, value in [
        ("foreach", False),
        ("differentiable", False),
        ("capturable", False),
    ]:
        assert ours(params, **{flag: value}).defaults[flag] is value
    for flag in ("foreach", "differentiable", "capturable"):
        with pytest.raises(ValueError, match=f"does not support {flag}=True"):
            ours(params, **{flag: True})


def run_then_hand_over(first, second, kwargs, dtype):
    """5 steps with ``first``, its state dict loaded into ``second`` on
    copies of the parameters, 5 more steps: the parameters and the state
    dict as handed over."""
    params = make_params(dtype)
    optimizer = first(param_groups(params, kwargs["lr"]), **kwargs)
    for t in range(5):
        backward_step(params, optimizer, t)
    state = copy.deepcopy(optimizer.state_dict())
    params = [p.detach().clone().requires_grad_() for p in params]
    optimizer = second(param_groups(params, kwargs["lr"]), **kwargs)
    optimizer.load_state_dict(copy.deepcopy(state))
    for t in range(5, 10):
        backward_step(params, optimizer, t)
    return params, state, optimizer


@pytest.mark.parametrize("_, ours, theirs, kwargs", CASES, ids=CASE_IDS)
def test_state_dicts_load_both_ways_bit_identically(_, ours, theirs, kwargs):
    for dtype in (torch.float64, torch.float32):
        expected, torch_state, _ = run_then_hand_over(
            theirs, theirs, kwargs, dtype
        )
        for first, second in ((ours, theirs), (theirs, ours)):
            params, state, optimizer = run_then_hand_over(
                first, second, kwargs, dtype
            )
            for p, q in zip(params, expected, strict=True):
                assert torch.equal(p, q)
            assert state["param_groups"] == torch_state["param_groups"]
            for key, value in state["state"].items():
                assert value.keys() == torch_state["state"][key].keys()
                for name, tensor in value.items():
                    assert (
                        tensor.dtype == torch_state["state"][key][name].dtype
                    )
            assert isinstance(optimizer, second)


BAD_ARGUMENTS = [
    # (NumPy reference, kwargs, exception, the argument the message names)
    *[
        (cls, dict(lr=lr), ValueError, "lr")
        for cls, _, _ in CLASSES
        for lr in (-0.1, NAN, INF)
    ],
    *[(cls, dict(lr="0.1"), TypeError, "lr") for cls, _, _ in CLASSES],
    *[(cls, dict(eps=-1e-8), ValueError, "eps") for cls, _, _ in CLASSES],
    *[
        (cls, dict(weight_decay=wd), ValueError, "weight_decay")
        for cls, _, _ in CLASSES
        for wd in (-0.1, NAN)
    ],
    *[
        (cls, dict(betas=betas), ValueError, "betas")
        for cls, _, _ in CLASSES
        for betas in ((1.0, 0.999), (0.9, 1.0), (-0.1, 0.999), (0.9, NAN))
    ],
    *[
        (cls, dict(betas=betas), TypeError, "betas")
        for cls, _, _ in CLASSES
        for betas in (0.9, (0.9,), (0.9, 0.99, 0.999), (0.9, "0.999"))
    ],
    *[
        (cls, dict(maximize="False"), TypeError, "maximize")
        for cls, _, _ in CLASSES
    ],
    (NAdam, dict(momentum_decay=-4e-3), ValueError, "momentum_decay"),
    (NAdam, dict(momentum_decay=INF), ValueError, "momentum_decay"),
    (NAdam, dict(momentum_decay="4e-3"), TypeError, "momentum_decay"),
    *[
        (cls, dict(decoupled_weight_decay=1), TypeError, "decoupled_weight")
        for cls in (NAdam, RAdam)
    ],
]
BAD_IDS = [f"{cls.__name__}-{kw}" for cls, kw, _, _ in BAD_ARGUMENTS]
TORCH_CLASS = {reference: ours for reference, ours, _ in CLASSES}


@pytest.mark.parametrize(
    "cls, kwargs, error, name", BAD_ARGUMENTS, ids=BAD_IDS
)
def test_bad_argument_is_refused_by_name(cls, kwargs, error, name):
    with pytest.raises(error, match=name):
        cls(**kwargs)
    params = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(error, match=name):
        TORCH_CLASS[cls](params, **kwargs)
    optimizer = TORCH_CLASS[cls](params)
    with pytest.raises(error, match=name):
        optimizer.add_param_group(
            {"params": [torch.zeros(2, requires_grad=True)], **kwargs}
        )


@pytest.mark.parametrize("reference, ours, theirs", CLASSES, ids=CLASS_IDS)
def test_complex_parameter_as_torch_optim(reference, ours, theirs):
    generator = torch.Generator().manual_seed(1)
    start = torch.randn(4, dtype=torch.complex128, generator=generator)
    grads = torch.randn(10, 4, dtype=torch.complex128, generator=generator)
    result = []
    for cls in (ours, theirs):
        p = start.clone().requires_grad_()
        optimizer = cls([p], lr=0.05, weight_decay=0.1)
        for g in grads:
            p.grad = g.clone()
            optimizer.step()
        result.append(p.detach())
    torch.testing.assert_close(*result, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reference, ours, theirs", CLASSES, ids=CLASS_IDS)
def test_step_leaves_its_inputs_alone(reference, ours, theirs):
    opt = reference()
    x0 = np.linspace(-1.0, 1.0, 5)
    state = opt.init(x0)
    before = copy.deepcopy(state)
    g = np.cos(x0)
    x, new_state = opt.step(x0, g, state)
    np.testing.assert_array_equal(x0, np.linspace(-1.0, 1.0, 5))
    for key, value in before.items():
        np.testing.assert_array_equal(state[key], value)
    assert new_state["step"] == 1 and new_state is not state

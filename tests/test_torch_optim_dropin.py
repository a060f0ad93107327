"""gdbook.torch as a drop-in for torch.optim: what code written for torch.optim
passes in, and gets back.

Complex parameters, state dicts saved by an older torch, copies of flat
optimizers, state-dict hooks, sparse gradients, state that SGD does not keep,
tensor learning rates, torch.optim's implementation flags and per-group
hyper-parameters. Where both compute, the numbers are compared with
torch.optim's for-loop (``foreach=False``) bit for bit.
"""

import copy
import inspect
import pickle

import pytest

torch = pytest.importorskip("torch")

from test_optim_validation import BAD_ARGUMENTS  # noqa: E402
from test_torch_optim import (  # noqa: E402
    backward_step,
    make_params,
    one_thread,  # noqa: F401 (an autouse fixture)
    torch_class,
)

import gdbook.torch as gt  # noqa: E402

PER_TENSOR = list(gt.OPTIMIZERS.values())
FLAT = [gt.FlatAdam, gt.FlatAdamW, gt.FlatSGD]
SHAPES = [(3, 4), (5,), (2, 3)]

# per algorithm, the defaults and a case that turns on every option that
# changes the arithmetic
OPTIONS = {
    gt.SGD: [
        dict(lr=0.05),
        dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.1),
        dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True),
    ],
    gt.Adagrad: [
        dict(lr=0.1),
        dict(
            lr=0.1,
            lr_decay=0.05,
            weight_decay=0.1,
            initial_accumulator_value=0.1,
            maximize=True,
        ),
    ],
    gt.RMSprop: [
        dict(lr=0.01),
        dict(
            lr=0.01,
            centered=True,
            momentum=0.5,
            weight_decay=0.1,
            maximize=True,
        ),
    ],
    gt.Adadelta: [
        dict(lr=1.0),
        dict(lr=1.0, rho=0.5, weight_decay=0.1, maximize=True),
    ],
    gt.Adam: [
        dict(lr=0.01),
        dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True),
        dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    ],
    gt.AdamW: [
        dict(lr=0.01),
        dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True),
    ],
}
CONFIGS = [
    (cls, kwargs) for cls, options in OPTIONS.items() for kwargs in options
]
CONFIG_IDS = [
    f"{cls.__name__}({','.join(f'{k}={v}' for k, v in kw.items())})"
    for cls, kw in CONFIGS
]


def theirs(cls):
    """torch.optim's class of the same algorithm (FlatAdam:
    torch.optim.Adam)."""
    return getattr(torch.optim, cls.__name__.removeprefix("Flat"))


def ours(cls, params, **kwargs):
    """``cls(params, **kwargs)``, with a flat class on its eager backend
    (torch.optim's operations)."""
    return (
        cls(params, backend="eager", **kwargs)
        if cls in FLAT
        else cls(params, **kwargs)
    )


def random_params(dtypes, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [
        torch.randn(shape, generator=generator, dtype=dtype).requires_grad_()
        for shape, dtype in zip(SHAPES, dtypes, strict=True)
    ]


def assert_same_steps(ours_opt, theirs_opt, a, b, steps=5, schedule=None):
    """Step both optimizers with the same random gradients: parameters and
    every state entry stay equal."""
    generator = torch.Generator().manual_seed(1)
    schedulers = [schedule(ours_opt), schedule(theirs_opt)] if schedule else []
    for t in range(steps):
        for p, q in zip(a, b, strict=True):
            p.grad = torch.randn(p.shape, generator=generator, dtype=p.dtype)
            q.grad = p.grad.clone()
        ours_opt.step()
        theirs_opt.step()
        for scheduler in schedulers:
            scheduler.step()
        for p, q in zip(a, b, strict=True):
            assert torch.equal(p, q), f"parameter at step {t}"
            assert ours_opt.state[p].keys() == theirs_opt.state[q].keys()
            for name, value in theirs_opt.state[q].items():
                assert torch.equal(ours_opt.state[p][name], value), (
                    f"{name} at step {t}"
                )


# 1. Complex parameters


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_complex_parameters_as_torch_optim(cls, kwargs):
    """A complex parameter is updated as its real and imaginary parts
    (torch.view_as_real), as torch.optim does: Adam's second moment is re^2 and
    im^2 per part, not the complex g * g."""
    for dtypes in (
        (torch.complex64, torch.complex64, torch.float32),
        (torch.complex128, torch.float64, torch.complex128),
    ):
        a, b = random_params(dtypes), random_params(dtypes)
        assert_same_steps(
            cls(a, **kwargs), theirs(cls)(b, foreach=False, **kwargs), a, b
        )


@pytest.mark.parametrize("cls", FLAT)
def test_flat_classes_refuse_complex_parameters_before_any_work(cls):
    complex_param = torch.zeros(2, dtype=torch.complex64, requires_grad=True)
    with pytest.raises(
        TypeError,
        match=f"{cls.__name__}.*complex64.*gdbook.torch.{theirs(cls).__name__}",
    ):
        cls([complex_param])
    optimizer = cls([torch.ones(3, requires_grad=True)])
    with pytest.raises(TypeError, match="complex64"):
        optimizer.add_param_group({"params": [complex_param]})
    assert len(optimizer.param_groups) == len(optimizer.buffers) == 1


# 2. State dicts of an older torch

NEWER_GROUP_KEYS = (
    "maximize",
    "foreach",
    "capturable",
    "differentiable",
    "fused",
    "decoupled_weight_decay",
)


@pytest.mark.parametrize("cls", PER_TENSOR + FLAT, ids=lambda c: c.__name__)
def test_older_state_dict_loads_and_continues_as_in_torch_optim(cls):
    """Without the newer group keys (each takes its constructor default:
    maximize becomes False, as in torch.optim) and with a Python float
    ``step``: loading it continues with torch.optim's numbers."""
    runs = []
    for make in (
        lambda ps: ours(cls, ps, lr=0.05, maximize=True),
        lambda ps: theirs(cls)(ps, lr=0.05, maximize=True, foreach=False),
    ):
        params = make_params()
        optimizer = make(params)
        for t in range(3):
            backward_step(params, optimizer, t)
        old = copy.deepcopy(optimizer.state_dict())
        for group in old["param_groups"]:
            for key in NEWER_GROUP_KEYS:
                group.pop(key, None)
        for state in old["state"].values():
            if "step" in state:
                state["step"] = state["step"].item()
        optimizer.load_state_dict(old)
        assert [group["maximize"] for group in optimizer.param_groups] == [
            False
        ]
        for t in range(3, 6):
            backward_step(params, optimizer, t)
        runs.append(params)
    for p, q in zip(*runs, strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.parametrize("cls", [gt.AdamW, gt.FlatAdamW])
def test_adamw_keeps_decoupled_weight_decay_when_loading_an_adam_state_dict(
    cls,
):
    """As torch.optim.AdamW: whatever the state dict says, AdamW decays
    decoupled."""
    params = make_params()
    state_dict = torch.optim.Adam(params, weight_decay=0.1).state_dict()
    optimizer = ours(cls, make_params())
    optimizer.load_state_dict(state_dict)
    assert optimizer.param_groups[0]["decoupled_weight_decay"] is True


# 3. Copies of flat optimizers


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("cls", FLAT, ids=lambda c: c.__name__)
def test_a_copy_of_a_flat_optimizer_steps_as_the_original(cls, how):
    torch.manual_seed(0)
    model, x = gt.MLP(3, hidden=(5, 7), out_features=2), torch.randn(4, 3)
    optimizer = ours(
        cls,
        model.parameters(),
        lr=0.05,
        **({"momentum": 0.9} if cls is gt.FlatSGD else {}),
    )

    def train_step(model, optimizer):
        optimizer.zero_grad()
        model(x).square().sum().backward()
        optimizer.step()

    for _ in range(3):
        train_step(model, optimizer)
    pair = (model, optimizer)
    copied = (
        copy.deepcopy(pair)
        if how == "deepcopy"
        else pickle.loads(pickle.dumps(pair))
    )
    for _ in range(2):
        train_step(model, optimizer)
        train_step(*copied)
    for p, q in zip(model.parameters(), copied[0].parameters(), strict=True):
        assert torch.equal(p, q) and p.data_ptr() != q.data_ptr()
    torch.testing.assert_close(
        copied[1].state_dict(), optimizer.state_dict(), rtol=0, atol=0
    )
    public = {name for name in vars(optimizer) if not name.startswith("_")}
    assert {
        name for name in vars(copied[1]) if not name.startswith("_")
    } == public


# 4. State-dict hooks


@pytest.mark.parametrize("cls", PER_TENSOR + FLAT, ids=lambda c: c.__name__)
def test_a_state_dict_pre_hook_may_add_state(cls):
    params = make_params()
    optimizer = ours(cls, params)
    backward_step(params, optimizer, 0)
    optimizer.register_state_dict_pre_hook(
        lambda opt: opt.state.__setitem__("note", 1)
    )
    assert optimizer.state_dict()["state"]["note"] == 1


# 5. Sparse gradients


@pytest.mark.parametrize("cls", PER_TENSOR + FLAT, ids=lambda c: c.__name__)
def test_sparse_gradients_are_refused_before_any_work(cls):
    a, b = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    optimizer = ours(cls, [a, b], lr=0.1)
    a.grad, b.grad = torch.ones(3), torch.ones(3).to_sparse()
    with pytest.raises(
        TypeError, match=f"{cls.__name__} does not support sparse gradients"
    ):
        optimizer.step()
    assert torch.equal(a, torch.ones(3)) and torch.equal(b, torch.ones(3))
    assert optimizer.state_dict()["state"] == {}
    if cls in FLAT:  # flattening copies the gradients in
        with pytest.raises(
            TypeError,
            match=f"{cls.__name__} does not support sparse gradients",
        ):
            cls([b])


# 6. No empty state


@pytest.mark.parametrize("cls", [gt.SGD, gt.FlatSGD], ids=lambda c: c.__name__)
def test_sgd_without_momentum_keeps_no_state(cls):
    a, b = make_params(), make_params()
    optimizers = ours(cls, a, lr=0.1), torch.optim.SGD(b, lr=0.1)
    for params, optimizer in zip((a, b), optimizers, strict=True):
        for t in range(2):
            backward_step(params, optimizer, t)
    assert (
        optimizers[0].state_dict()["state"]
        == optimizers[1].state_dict()["state"]
        == {}
    )


# 7. Tensor learning rates and betas


@pytest.mark.parametrize("cls, kwargs", CONFIGS, ids=CONFIG_IDS)
def test_tensor_lr_as_torch_optim(cls, kwargs):
    """A 0-d tensor lr (as LR schedulers use under torch.compile), changed in
    place by a scheduler."""
    for dtype in (torch.float32, torch.float64):
        a, b = random_params((dtype,) * 3), random_params((dtype,) * 3)
        tensor_lr = {**kwargs, "lr": torch.tensor(kwargs["lr"])}
        theirs_opt = theirs(cls)(
            b, foreach=False, **copy.deepcopy(tensor_lr)
        )  # a tensor lr of its own
        assert_same_steps(
            cls(a, **tensor_lr),
            theirs_opt,
            a,
            b,
            schedule=lambda o: torch.optim.lr_scheduler.ExponentialLR(
                o, gamma=0.9
            ),
        )


@pytest.mark.parametrize(
    "cls",
    [gt.Adam, gt.AdamW, gt.FlatAdam, gt.FlatAdamW],
    ids=lambda c: c.__name__,
)
def test_tensor_betas_as_torch_optim(cls):
    for dtype in (torch.float32, torch.float64):
        for amsgrad in (False, True):
            kwargs = dict(
                lr=torch.tensor(0.01),
                betas=(torch.tensor(0.8), torch.tensor(0.99)),
                amsgrad=amsgrad,
            )
            a, b = random_params((dtype,) * 3), random_params((dtype,) * 3)
            theirs_opt = theirs(cls)(b, foreach=False, **copy.deepcopy(kwargs))
            assert_same_steps(ours(cls, a, **kwargs), theirs_opt, a, b)


BAD_TENSORS = [
    (dict(lr=torch.tensor(-0.1)), "lr must be >= 0"),
    (dict(lr=torch.tensor(float("nan"))), "lr must be finite"),
    (dict(lr=torch.tensor([1e-3, 1e-3])), "Tensor lr must be 1-element"),
]
BAD_TENSOR_BETAS = [
    (
        dict(betas=(torch.tensor(1.0), torch.tensor(0.9))),
        r"betas\[0\] must be < 1",
    ),
    (
        dict(betas=(torch.tensor(0.9), torch.tensor(float("inf")))),
        r"betas\[1\] must be finite",
    ),
    (
        dict(betas=(torch.tensor([0.9, 0.9]), torch.tensor(0.9))),
        r"Tensor betas\[0\] must be 1-element",
    ),
    (
        dict(betas=(0.9, torch.tensor(0.99))),
        "betas must be either both floats or both Tensors",
    ),
]


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [(cls, kw, m) for cls in PER_TENSOR + FLAT for kw, m in BAD_TENSORS]
    + [
        (cls, kw, m)
        for cls in (gt.Adam, gt.AdamW, gt.FlatAdam)
        for kw, m in BAD_TENSOR_BETAS
    ],
)
def test_tensor_hyper_parameters_are_checked_as_numbers(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([torch.zeros(2, requires_grad=True)], **kwargs)


# 8. Implementation flags


def arguments(cls):
    return [
        (p.name, p.kind, p.default)
        for p in inspect.signature(cls).parameters.values()
    ]


FLAGS = {
    "foreach": (None, False),
    "fused": (None, False),
    "capturable": (False,),
    "differentiable": (False,),
}


@pytest.mark.parametrize("cls", PER_TENSOR, ids=lambda c: c.__name__)
def test_arguments_and_defaults_as_torch_optim(cls):
    """The same arguments (names, order, positional or keyword, defaults) and
    the same ``defaults``, implementation flags included, so that code written
    for torch.optim can swap the class in."""
    assert arguments(cls) == arguments(theirs(cls))
    params = [torch.zeros(2, requires_grad=True)]
    assert cls(params).defaults == theirs(cls)(params).defaults
    for flag, values in FLAGS.items():
        if flag in inspect.signature(theirs(cls)).parameters:
            for value in values:
                assert (
                    cls(params, **{flag: value}).defaults
                    == theirs(cls)(params, **{flag: value}).defaults
                )


@pytest.mark.parametrize("cls", FLAT, ids=lambda c: c.__name__)
def test_flat_classes_take_the_arguments_of_their_per_tensor_class_and_backend(
    cls,
):
    per_tensor = getattr(gt, theirs(cls).__name__)
    assert arguments(cls) == arguments(per_tensor) + [
        ("backend", inspect.Parameter.KEYWORD_ONLY, "auto")
    ]


@pytest.mark.parametrize("cls", PER_TENSOR + FLAT, ids=lambda c: c.__name__)
def test_other_flag_values_are_refused_with_what_gdbook_offers(cls):
    name = theirs(cls).__name__
    for flag in FLAGS:
        if flag not in inspect.signature(theirs(cls)).parameters:
            continue
        fused = (
            flag in ("foreach", "fused")
            and cls in PER_TENSOR
            and name in ("SGD", "Adam", "AdamW")
        )
        offer = (
            f"gdbook.torch.Flat{name}"
            if fused
            else f"torch.optim.{name}\\({flag}=True\\)"
        )
        if flag in ("foreach", "fused") and cls not in PER_TENSOR:
            offer = "backend='fused'"
        with pytest.raises(
            ValueError,
            match=f"{cls.__name__} does not support {flag}=True.*{offer}",
        ):
            cls([torch.zeros(2, requires_grad=True)], **{flag: True})
    for flag, values in FLAGS.items():
        if flag in inspect.signature(theirs(cls)).parameters:
            optimizer = ours(
                cls, [torch.zeros(2, requires_grad=True)], **{flag: values[-1]}
            )
            assert optimizer.defaults[flag] is values[-1]


# 9. Per-group hyper-parameters


@pytest.mark.parametrize(
    "reference, kwargs, error, name",
    BAD_ARGUMENTS,
    ids=[f"{cls.__name__}-{kwargs}" for cls, kwargs, _, _ in BAD_ARGUMENTS],
)
def test_a_param_group_is_checked_as_the_constructor(
    reference, kwargs, error, name
):
    for cls in [torch_class(reference)] + [
        c for c in FLAT if theirs(c).__name__ == reference.__name__
    ]:
        p, q = (
            torch.zeros(2, requires_grad=True),
            torch.zeros(2, requires_grad=True),
        )
        with pytest.raises(error, match=name):
            cls([{"params": [p], **kwargs}])
        optimizer = cls([p])
        with pytest.raises(error, match=name):
            optimizer.add_param_group({"params": [q], **kwargs})
        assert (
            len(optimizer.param_groups) == 1
            and len(getattr(optimizer, "buffers", [0])) == 1
        )


# torch.optim's wording of a bad hyper-parameter (PyTorch's own test_errors
# matches it), then gdbook's range

TORCH_WORDED = [
    (gt.SGD, dict(momentum=-0.5)),
    (gt.SGD, dict(lr=-1.0)),
    (gt.SGD, dict(weight_decay=-1)),
    (gt.Adam, dict(betas=(1.0, 0.0))),
    (gt.Adam, dict(betas=(0.9, -0.1))),
    (gt.Adam, dict(eps=-1e-8)),
    (gt.AdamW, dict(weight_decay=-1)),
    (gt.Adagrad, dict(lr_decay=-0.5)),
    (gt.Adadelta, dict(rho=1.1)),
    (gt.RMSprop, dict(momentum=-1.0)),
    (gt.RMSprop, dict(alpha=-0.5)),
    (gt.FlatAdam, dict(betas=(1.0, 0.0))),
    (gt.FlatSGD, dict(momentum=-0.5)),
]


@pytest.mark.parametrize(
    "cls, kwargs",
    TORCH_WORDED,
    ids=[f"{c.__name__}-{kw}" for c, kw in TORCH_WORDED],
)
def test_bad_hyper_parameters_are_worded_as_torch_optim(cls, kwargs):
    params = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError) as torch_error:
        theirs(cls)(params, **kwargs)
    with pytest.raises(ValueError) as gdbook_error:
        cls(params, **kwargs)
    torch_words, gdbook_range = str(gdbook_error.value).split("; ", 1)
    assert torch_words == str(torch_error.value)
    assert gdbook_range.startswith(next(iter(kwargs)))

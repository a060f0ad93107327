"""LARS and LAMB: hand-computed steps, NumPy reference = torch version."""

import copy

import numpy as np
import pytest
import torch

from gdbook.optim import LAMB, LARS
from gdbook.torch.optim.large_batch import LAMB as TorchLAMB
from gdbook.torch.optim.large_batch import LARS as TorchLARS

W = np.array([3.0, 4.0])  # norm 5


def steps(opt, x, gradients):
    state = opt.init(x)
    for g in gradients:
        x, state = opt.step(x, np.asarray(g, dtype=float), state)
    return x


def test_lars_steps_by_hand():
    # ||w|| = 5, ||g|| = 1: lambda = 0.1 * 5 / 1 = 0.5, v = 2 * 0.5 * g
    opt = LARS(lr=2.0, momentum=0.9, trust=0.1)
    g = [0.6, 0.8]
    np.testing.assert_allclose(steps(opt, W, [g]), [2.4, 3.2], rtol=1e-15)
    # then ||w|| = 4: lambda = 0.4, v = 0.9 v + 2 * 0.4 * g = (1.02, 1.36)
    np.testing.assert_allclose(steps(opt, W, [g, g]), [1.38, 1.84], rtol=1e-14)


def test_lars_weight_decay_and_a_layer_at_the_origin_by_hand():
    # lambda = 0.1 * 5 / (1 + 0.5 * 5) = 1/7; d = g + 0.5 w = (2.1, 2.8)
    opt = LARS(lr=2.0, momentum=0.9, weight_decay=0.5, trust=0.1)
    np.testing.assert_allclose(
        steps(opt, W, [[0.6, 0.8]]), [2.4, 3.2], rtol=1e-14
    )
    # ||w|| = 0: the ratio is 1 and the step is the plain lr * g
    opt = LARS(lr=2.0, momentum=0.9, trust=0.1)
    np.testing.assert_array_equal(
        steps(opt, np.zeros(2), [[1.0, 0.0]]), [-2.0, 0.0]
    )


def test_lamb_first_step_by_hand():
    # step 1: m^ = g, v^ = g^2, so r = sign(g) (eps = 0) + wd * w
    opt = LAMB(lr=0.1, eps=0.0)
    expected = W - 0.1 * 5 / np.sqrt(2) * np.array([1.0, -1.0])
    np.testing.assert_allclose(
        steps(opt, W, [[0.6, -0.8]]), expected, rtol=1e-15
    )
    opt = LAMB(lr=0.1, eps=0.0, weight_decay=0.1)
    r = np.array([1.0, -1.0]) + 0.1 * W  # (1.3, -0.6), norm sqrt(2.05)
    expected = W - 0.1 * 5 / np.sqrt(2.05) * r
    np.testing.assert_allclose(
        steps(opt, W, [[0.6, -0.8]]), expected, rtol=1e-15
    )


@pytest.mark.parametrize("cls", [LARS, LAMB])
def test_each_layer_gets_its_own_ratio(cls):
    x = np.array([3.0, 4.0, 0.3, 0.4])
    g = np.array([0.6, 0.8, 1.0, -2.0])
    layered = steps(cls(lr=0.1, layers=[2, 2]), x, [g, g])
    for block in (slice(0, 2), slice(2, 4)):
        alone = steps(cls(lr=0.1), x[block], [g[block], g[block]])
        np.testing.assert_allclose(layered[block], alone, rtol=1e-15)
    whole = steps(cls(lr=0.1), x, [g, g])
    assert not np.allclose(whole, layered)


SHAPES = [(3, 4), (4,), (2, 3)]
SIZES = [int(np.prod(s)) for s in SHAPES]


def quadratic_grad(x):
    return 2 * x * np.arange(1, x.size + 1) / x.size


@pytest.mark.parametrize(
    ("ref", "ours", "hyper"),
    [
        (LARS, TorchLARS, dict(lr=0.5, weight_decay=1e-2, trust=0.02)),
        (LAMB, TorchLAMB, dict(lr=0.05, weight_decay=1e-2)),
    ],
)
def test_torch_version_equals_the_numpy_reference(ref, ours, hyper):
    x = np.random.default_rng(0).standard_normal(sum(SIZES))
    params = [
        torch.tensor(block.reshape(shape), requires_grad=True)
        for block, shape in zip(
            np.split(x, np.cumsum(SIZES)[:-1]), SHAPES, strict=True
        )
    ]
    opt, state = ref(layers=SIZES, **hyper), None
    state = opt.init(x)
    torch_opt = ours(params, **hyper)
    for _ in range(30):
        x, state = opt.step(x, quadratic_grad(x), state)
        flat = torch.cat([p.detach().reshape(-1) for p in params]).numpy()
        grads = np.split(quadratic_grad(flat), np.cumsum(SIZES)[:-1])
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g.reshape(p.shape))
        torch_opt.step()
    flat = torch.cat([p.detach().reshape(-1) for p in params]).numpy()
    np.testing.assert_allclose(flat, x, rtol=0, atol=1e-12)
    assert np.linalg.norm(x) < 0.9 * np.linalg.norm(
        np.random.default_rng(0).standard_normal(sum(SIZES))
    )


@pytest.mark.parametrize("cls", [TorchLARS, TorchLAMB])
def test_torch_state_dict_resumes_exactly(cls):
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 3).double()
    data = torch.randn(16, 5, dtype=torch.float64)

    def run(opt, model, n):
        for _ in range(n):
            opt.zero_grad()
            model(data).pow(2).mean().backward()
            opt.step()

    opt = cls(model.parameters(), lr=0.01)
    run(opt, model, 3)
    twin = copy.deepcopy(model)
    twin_opt = cls(twin.parameters(), lr=0.01)
    twin_opt.load_state_dict(copy.deepcopy(opt.state_dict()))
    run(opt, model, 3)
    run(twin_opt, twin, 3)
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: LARS(layers=[2, 0]), ValueError, "layers must be None or"),
        (lambda: LARS(layers="ab"), ValueError, "layers must be None or"),
        (lambda: LARS(trust=0.0), ValueError, "trust"),
        (lambda: LARS(momentum=1.0), ValueError, "momentum"),
        (lambda: LAMB(betas=(0.9,)), TypeError, "betas must be a pair"),
        (lambda: LAMB(eps=-1.0), ValueError, "eps"),
        (
            lambda: LAMB(layers=[2, 2]).init(np.zeros(3)),
            ValueError,
            r"layers \(2, 2\) add up to 4, but x.size = 3",
        ),
        (
            lambda: TorchLARS([torch.zeros(2, requires_grad=True)], lr=-1.0),
            ValueError,
            "lr",
        ),
        (
            lambda: TorchLAMB(
                [torch.zeros(2, requires_grad=True)], weight_decay=-1.0
            ),
            ValueError,
            "weight_decay",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_argument(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("cls", [TorchLARS, TorchLAMB])
def test_complex_parameters_are_refused(cls):
    p = torch.zeros(2, dtype=torch.complex128, requires_grad=True)
    p.grad = torch.ones(2, dtype=torch.complex128)
    with pytest.raises(TypeError, match="real parameters only"):
        cls([p]).step()

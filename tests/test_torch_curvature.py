"""gdbook.torch.curvature: Hessian-vector products and the sharpness by power
iteration, checked against Hessians formed explicitly."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gdbook.torch.curvature import (  # noqa: E402
    hessian_vector_product,
    sharpness,
    top_eigenpair,
)


def least_squares(n=40, d=6, seed=0):
    """A linear model (no bias) with loss ||X w - y||^2 / (2 n): its Hessian
    is X^T X / n."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 3.0, d)
    y = rng.standard_normal(n)
    model = torch.nn.Linear(d, 1, bias=False).double()

    def loss_fn(out, target):
        return 0.5 * ((out.squeeze(-1) - target) ** 2).mean()

    data = (torch.tensor(X), torch.tensor(y))
    return model, loss_fn, data, X.T @ X / n


def small_mlp(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)
    ).double()
    X = torch.randn(30, 3, dtype=torch.float64)
    y = torch.randn(30, 2, dtype=torch.float64)
    return model, torch.nn.MSELoss(), (X, y)


def full_hessian(model, loss_fn, data):
    """The Hessian in the flattened parameters, by
    torch.autograd.functional.hessian."""
    params = list(model.parameters())
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    names = [name for name, _ in model.named_parameters()]

    def f(w):
        chunks = torch.split(w, sizes)
        tensors = {
            n: c.reshape(s)
            for n, c, s in zip(names, chunks, shapes, strict=True)
        }
        out = torch.func.functional_call(model, tensors, (data[0],))
        return loss_fn(out, data[1])

    return torch.autograd.functional.hessian(f, flat).numpy()


def test_hvp_of_least_squares_is_exact():
    model, loss_fn, (X, y), H = least_squares()
    rng = np.random.default_rng(1)
    for _ in range(3):
        v = rng.standard_normal(H.shape[0])
        (hv,) = hessian_vector_product(
            lambda: loss_fn(model(X), y),
            list(model.parameters()),
            [torch.tensor(v).reshape(1, -1)],
        )
        assert hv.shape == (1, H.shape[0])
        np.testing.assert_allclose(
            hv.numpy().ravel(), H @ v, rtol=1e-12, atol=1e-12
        )


def test_hvp_of_mlp_equals_full_hessian_times_v():
    model, loss_fn, (X, y) = small_mlp()
    H = full_hessian(model, loss_fn, (X, y))
    params = list(model.parameters())
    rng = np.random.default_rng(2)
    v = rng.standard_normal(H.shape[0])
    pieces = torch.split(torch.tensor(v), [p.numel() for p in params])
    hv = hessian_vector_product(
        lambda: loss_fn(model(X), y),
        params,
        [c.reshape(p.shape) for c, p in zip(pieces, params, strict=True)],
    )
    flat = torch.cat([h.reshape(-1) for h in hv]).numpy()
    np.testing.assert_allclose(flat, H @ v, rtol=1e-10, atol=1e-12)
    assert all(not h.requires_grad for h in hv)


def test_hvp_takes_a_single_tensor():
    w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    (hv,) = hessian_vector_product(
        lambda: (w**3).sum(), w, torch.tensor([1.0, 1.0])
    )
    np.testing.assert_allclose(hv.numpy(), [6.0, 12.0])  # 6 w v


def test_parameters_the_loss_ignores_get_zero():
    w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    unused = torch.ones(3, dtype=torch.float64, requires_grad=True)
    hv, zero = hessian_vector_product(
        lambda: (w**3).sum(), [w, unused], [torch.ones(2), torch.ones(3)]
    )
    np.testing.assert_allclose(hv.numpy(), [6.0, 12.0])
    assert torch.equal(zero, torch.zeros(3, dtype=torch.float64))


def test_hvp_of_a_linear_loss_is_zero():
    w = torch.ones(3, dtype=torch.float64, requires_grad=True)
    (hv,) = hessian_vector_product(
        lambda: (2.0 * w).sum(), [w], [torch.ones(3, dtype=torch.float64)]
    )
    assert torch.equal(hv, torch.zeros(3, dtype=torch.float64))


def test_sharpness_of_least_squares_is_top_eigenvalue():
    model, loss_fn, data, H = least_squares()
    top = np.linalg.eigvalsh(H)[-1]
    lam = sharpness(model, loss_fn, data, iters=500, tol=1e-12)
    assert isinstance(lam, float)
    assert abs(lam - top) <= 1e-6 * top


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sharpness_of_mlp_is_top_eigenvalue_of_full_hessian(seed):
    model, loss_fn, data = small_mlp(seed)
    eig = np.linalg.eigvalsh(full_hessian(model, loss_fn, data))
    lam = sharpness(model, loss_fn, data, iters=2000, tol=1e-12)
    assert abs(lam - eig[-1]) <= 1e-6 * abs(eig[-1])


class Saddle(torch.nn.Module):
    """f(w) = w^T A w / 2 with eigenvalues -5, 2, 1: the largest in
    magnitude is negative, the largest is 2."""

    def __init__(self):
        super().__init__()
        q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))
        self.A = torch.tensor(q @ np.diag([-5.0, 2.0, 1.0]) @ q.T)
        self.w = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))

    def forward(self, x):
        return 0.5 * self.w @ self.A @ self.w


def test_sharpness_is_the_largest_not_the_largest_in_magnitude():
    model = Saddle()
    data = (torch.zeros(1), torch.zeros(1))
    lam = sharpness(model, lambda out, y: out, data, iters=2000, tol=1e-13)
    assert abs(lam - 2.0) <= 1e-6


def test_warm_start_converges_at_once_and_vector_is_eigenvector():
    model, loss_fn, data, H = least_squares()
    lam, v = top_eigenpair(model, loss_fn, data, iters=500, tol=1e-13)
    vec = v[0].numpy().ravel()
    np.testing.assert_allclose(H @ vec, lam * vec, atol=1e-6)
    assert abs(np.linalg.norm(vec) - 1.0) < 1e-12
    lam2, _ = top_eigenpair(model, loss_fn, data, v0=v, iters=2, tol=1e-9)
    assert abs(lam2 - lam) <= 1e-9 * lam


def test_works_under_no_grad():
    model, loss_fn, data, H = least_squares()
    with torch.no_grad():
        lam = sharpness(model, loss_fn, data, iters=500, tol=1e-12)
    assert abs(lam - np.linalg.eigvalsh(H)[-1]) <= 1e-6 * lam


def test_same_seed_same_result_and_warning_when_not_converged():
    model, loss_fn, data = small_mlp()
    values = []
    for _ in range(2):
        with pytest.warns(RuntimeWarning, match="did not reach tol"):
            values.append(
                sharpness(model, loss_fn, data, iters=3, tol=0.0, seed=4)
            )
    assert values[0] == values[1]
    with pytest.warns(RuntimeWarning):
        other = sharpness(model, loss_fn, data, iters=3, tol=0.0, seed=5)
    assert other != values[0]  # the seed matters before convergence


def test_sharpness_leaves_gradients_and_parameters_alone():
    model, loss_fn, data = small_mlp()
    before = [p.detach().clone() for p in model.parameters()]
    sharpness(model, loss_fn, data)
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.equal(p.detach(), q)
        assert p.grad is None


def test_bad_input_is_refused():
    model, loss_fn, data, _ = least_squares()
    X, y = data
    params = list(model.parameters())
    closure = lambda: loss_fn(model(X), y)  # noqa: E731
    good = [torch.ones_like(params[0])]
    with pytest.raises(ValueError, match="iters"):
        sharpness(model, loss_fn, data, iters=0)
    with pytest.raises(ValueError, match="tol"):
        sharpness(model, loss_fn, data, tol=-1e-3)
    with pytest.raises(TypeError, match="iters"):
        sharpness(model, loss_fn, data, iters=2.5)
    with pytest.raises(TypeError, match="model"):
        sharpness(lambda x: x, loss_fn, data)
    with pytest.raises(TypeError, match="data"):
        sharpness(model, loss_fn, X)
    with pytest.raises(ValueError, match="scalar"):
        sharpness(model, lambda out, t: out - t, data)
    with pytest.raises(ValueError, match=r"v\[0\] must be a tensor of shape"):
        hessian_vector_product(closure, params, [torch.ones(3)])
    with pytest.raises(ValueError, match="one tensor per parameter"):
        hessian_vector_product(closure, params, good * 2)
    with pytest.raises(ValueError, match="finite"):
        hessian_vector_product(closure, params, [good[0] * np.nan])
    with pytest.raises(ValueError, match="requires_grad"):
        hessian_vector_product(closure, [torch.ones(1, 6)], good)
    with pytest.raises(ValueError, match="at least one"):
        hessian_vector_product(closure, [], [])
    with pytest.raises(TypeError, match="loss_fn"):
        hessian_vector_product("loss", params, good)
    with pytest.raises(ValueError, match="v0 must not be zero"):
        top_eigenpair(model, loss_fn, data, v0=[good[0] * 0])
    frozen = torch.nn.Linear(2, 1).requires_grad_(False)
    with pytest.raises(ValueError, match="no parameters"):
        sharpness(frozen, loss_fn, (torch.ones(3, 2), torch.ones(3)))

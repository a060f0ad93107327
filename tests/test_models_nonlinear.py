"""gdbook.models' MLP, MatrixFactorization and LinearSVM: gradients against
torch autograd, mini-batches, training."""

import numpy as np
import pytest
import torch
from test_models import assert_matches_autograd

import gdbook
from gdbook import data, models, schedules

RNG = np.random.default_rng(7)
X = RNG.standard_normal((30, 3))
Y_REG = np.sin(X[:, 0]) + 0.5 * X[:, 1] * X[:, 2]
Y_BIN = (X[:, 0] - X[:, 1] > 0).astype(float)
Y_SIGN = 2.0 * Y_BIN - 1.0
RATINGS = np.column_stack(
    [RNG.integers(0, 6, 40), RNG.integers(0, 5, 40), RNG.standard_normal(40)]
)

MODELS = {
    "mlp tanh squared": models.MLP(X, Y_REG, hidden=5),
    "mlp relu squared": models.MLP(
        X, Y_REG, hidden=5, activation="relu", l2=0.1
    ),
    "mlp tanh logistic": models.MLP(
        X, Y_BIN, hidden=4, loss="logistic", l2=0.05
    ),
    "mlp relu logistic": models.MLP(
        X, Y_BIN, hidden=4, activation="relu", loss="logistic"
    ),
    "mf": models.MatrixFactorization(RATINGS, rank=3),
    "mf-l2": models.MatrixFactorization(RATINGS, shape=(7, 6), rank=2, l2=0.2),
    "svm": models.LinearSVM(X, Y_SIGN),
    "svm-l2": models.LinearSVM(X, Y_SIGN, l2=0.3),
}


def _torch_loss(model, w):
    """Each loss written again in torch, from its formula, for autograd to
    differentiate."""
    if isinstance(model, models.MLP):
        d, h = model.n_features, model.hidden
        W1, b1, w2, b2 = (
            w[: d * h].reshape(d, h),
            w[d * h : (d + 1) * h],
            w[(d + 1) * h : -1],
            w[-1],
        )
        Z = torch.tensor(model.X) @ W1 + b1
        out = (
            torch.tanh(Z) if model.activation == "tanh" else torch.relu(Z)
        ) @ w2 + b2
        target = torch.tensor(model.y)
        if model.loss == "squared":
            loss = 0.5 * torch.nn.functional.mse_loss(out, target)
        else:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                out, target
            )
    elif isinstance(model, models.MatrixFactorization):
        (m, k), r = model.shape, model.rank
        U, V = w[: m * r].reshape(m, r), w[m * r :].reshape(k, r)
        pred = (U[torch.tensor(model.rows)] * V[torch.tensor(model.cols)]).sum(
            dim=1
        )
        loss = 0.5 * torch.mean((pred - torch.tensor(model.ratings)) ** 2)
    else:
        margins = torch.tensor(model.y) * (torch.tensor(model.X) @ w)
        loss = torch.mean(torch.clamp(1 - margins, min=0))
    return loss + 0.5 * model.l2 * w @ w


def _points(model, count=3, seed=5):
    """Random points; for the SVM, ones where no margin is within 1e-6 of the
    kink at 1."""
    rng = np.random.default_rng(seed)
    points = (rng.normal(0.0, 1.0, model.dim) for _ in range(100 * count))
    if isinstance(model, models.LinearSVM):
        points = (
            w for w in points if np.min(np.abs(model.margins(w) - 1)) > 1e-6
        )
    return [next(points) for _ in range(count)]


@pytest.mark.parametrize("name", MODELS)
def test_value_and_gradient_match_torch_autograd(name):
    model = MODELS[name]
    for w in _points(model):
        assert_matches_autograd(model, _torch_loss, w)


@pytest.mark.parametrize("name", MODELS)
def test_minibatch_gradient_is_the_mean_over_the_batch(name):
    model = MODELS[name]
    w = _points(model, 1)[0]
    idx = np.array(
        [3, 0, 3, 17, model.n_samples - 1]
    )  # a repeated index counts twice
    singles = [model.grad(w, np.array([i])) for i in idx]
    np.testing.assert_allclose(
        model.grad(w, idx), np.mean(singles, axis=0), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        model.grad(w, np.arange(model.n_samples)),
        model.grad(w),
        rtol=1e-12,
        atol=1e-14,
    )


@pytest.mark.parametrize("name", ["svm", "svm-l2"])
def test_svm_grad_is_a_subgradient_also_at_the_kinks(name):
    model = MODELS[name]
    rng = np.random.default_rng(3)
    kinked = [
        Y_SIGN[i] * X[i] / (X[i] @ X[i]) for i in range(5)
    ]  # sample i has margin exactly 1 (to rounding)
    assert np.allclose(
        [model.margins(w)[i] for i, w in enumerate(kinked)], 1.0
    )
    for w in kinked + _points(model, 5):
        g = model.grad(w)
        for v in rng.normal(0.0, 2.0, (20, model.dim)):
            assert model.value(v) >= model.value(w) + g @ (v - w) - 1e-12
    assert model.mu == model.l2 and model.L is None


def test_parameter_layouts_are_the_documented_ones():
    mlp = MODELS["mlp tanh squared"]
    w = np.arange(mlp.dim, dtype=float)
    W1, b1, w2, b2 = mlp.unpack(w)
    assert mlp.dim == 3 * 5 + 5 + 5 + 1 and W1.shape == (3, 5)
    np.testing.assert_array_equal(
        np.concatenate([W1.ravel(), b1, w2, [b2]]), w
    )
    np.testing.assert_allclose(mlp.predict(w), np.tanh(X @ W1 + b1) @ w2 + b2)
    mf = MODELS["mf-l2"]
    U, V = mf.factors(np.arange(mf.dim, dtype=float))
    assert U.shape == (7, 2) and V.shape == (6, 2) and V[0, 0] == 14
    np.testing.assert_allclose(
        mf.predict(np.arange(mf.dim, dtype=float), [6], [5]), U[6] @ V[5]
    )


def test_initialisers_are_seeded_and_scaled():
    relu = MODELS["mlp relu squared"]
    np.testing.assert_array_equal(relu.init(4), relu.init(4))
    assert not np.array_equal(relu.init(4), relu.init(5))
    wide = models.MLP(
        np.ones((2, 400)), np.ones(2), hidden=300, activation="relu"
    )
    W1, b1, w2, _ = wide.unpack(wide.init(0))
    assert W1.var() == pytest.approx(
        2 / 400, rel=0.02
    ) and w2.var() == pytest.approx(1 / 300, rel=0.2)
    assert not b1.any()
    mf = MODELS["mf"]
    assert mf.init(1, scale=0.5).std() == pytest.approx(0.5, rel=0.2)
    np.testing.assert_array_equal(
        mf.grad(np.zeros(mf.dim)), 0.0
    )  # why a random start: w = 0 is stationary


@pytest.mark.parametrize(
    "method, options, tolerance",
    [("lbfgs", {}, 1e-6), ("adam", {"lr": 0.05, "batch_size": 16}, 0.1)],
)
def test_matrix_factorization_recovers_a_planted_low_rank_matrix(
    method, options, tolerance
):
    rng = np.random.default_rng(0)
    M = rng.standard_normal((12, 2)) @ rng.standard_normal((10, 2)).T
    rows, cols = np.nonzero(rng.uniform(size=M.shape) < 0.7)
    model = models.MatrixFactorization(
        np.column_stack([rows, cols, M[rows, cols]]), shape=M.shape, rank=2
    )
    result = gdbook.minimize(
        model, model.init(seed=1), method, max_iter=2000, tol=1e-10, **options
    )
    assert (
        np.sqrt(np.mean((model.predict(result.x) - M[rows, cols]) ** 2))
        < tolerance
    )
    if method == "lbfgs":  # 70% of a rank-2 matrix determine the rest
        U, V = model.factors(result.x)
        np.testing.assert_allclose(U @ V.T, M, atol=1e-6)


@pytest.mark.parametrize("batch_size", [None, 8])
def test_svm_separates_a_separable_set(batch_size):
    rng = np.random.default_rng(1)
    Xs = rng.standard_normal((60, 2))
    ys = np.where(Xs @ [1.0, -1.0] + 0.3 > 0, 1.0, -1.0)
    Xs += (
        0.5 * ys[:, None] * np.array([1.0, -1.0]) / np.sqrt(2)
    )  # a gap of width 1 around the boundary
    model = models.LinearSVM(data.add_intercept(Xs), ys, l2=0.01)
    result = gdbook.minimize(
        model,
        np.zeros(3),
        "sgd",
        lr=schedules.inverse_time(1.0, 1.0),
        max_iter=2000,
        tol=0,
        batch_size=batch_size,
    )
    np.testing.assert_array_equal(model.predict(result.x), ys)
    assert result.fun < 0.05 * model.value(np.zeros(3))


@pytest.mark.parametrize(
    "activation, options", [("tanh", {}), ("relu", {"batch_size": 10})]
)
def test_mlp_fits_a_small_regression(activation, options):
    x = np.linspace(-2, 2, 40)[:, None]
    model = models.MLP(
        x, np.sin(2 * x[:, 0]), hidden=10, activation=activation
    )
    w0 = model.init(seed=0)
    result = gdbook.minimize(
        model, w0, "adam", lr=0.02, max_iter=2000, **options
    )
    assert result.fun < 1e-3 * model.value(w0)


def test_mlp_classifies_with_the_logistic_loss():
    model = models.MLP(X, Y_BIN, hidden=6, loss="logistic")
    result = gdbook.minimize(
        model, model.init(seed=2), "adam", lr=0.05, max_iter=300
    )
    assert np.mean((model.predict(result.x) > 0) == Y_BIN) == 1.0


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda: models.MLP(X, Y_REG, hidden=0),
            ValueError,
            "hidden must be >= 1",
        ),
        (
            lambda: models.MLP(X, Y_REG, activation="sigmoid"),
            ValueError,
            "activation must be 'tanh' or 'relu'",
        ),
        (
            lambda: models.MLP(X, Y_REG, loss="hinge"),
            ValueError,
            "loss must be 'squared' or 'logistic'",
        ),
        (
            lambda: models.MLP(X, Y_REG, loss="logistic"),
            ValueError,
            "labels 0 and 1",
        ),
        (lambda: models.MLP(X, Y_REG[:5]), ValueError, "y must have shape"),
        (
            lambda: models.MatrixFactorization(RATINGS[:, :2]),
            ValueError,
            r"ratings must have shape \(n, 3\)",
        ),
        (
            lambda: models.MatrixFactorization([[0, 1.5, 2.0]]),
            ValueError,
            "integer row and column indices",
        ),
        (
            lambda: models.MatrixFactorization([[-1, 1, 2.0]]),
            ValueError,
            "integer row and column indices",
        ),
        (
            lambda: models.MatrixFactorization(RATINGS, shape=(3, 9)),
            ValueError,
            "indices inside shape",
        ),
        (
            lambda: models.MatrixFactorization(RATINGS, rank=0),
            ValueError,
            "rank must be >= 1",
        ),
        (
            lambda: models.MatrixFactorization(RATINGS, l2=-1.0),
            ValueError,
            "l2 must be >= 0",
        ),
        (
            lambda: MODELS["mf"].init(scale=0.0),
            ValueError,
            "scale must be > 0",
        ),
        (lambda: models.LinearSVM(X, Y_BIN), ValueError, "labels -1 and"),
        (
            lambda: MODELS["svm"].grad(np.zeros(3), np.array([30])),
            ValueError,
            "idx must hold indices",
        ),
        (
            lambda: MODELS["mlp tanh squared"].unpack(np.zeros(3)),
            ValueError,
            r"x must have shape \(26,\)",
        ),
    ],
)
def test_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()

"""The finite-sum objectives (gdbook.problems and gdbook.models): losses,
gradients and Hessians against torch autograd; minimisers against scikit-learn;
the loss conventions as Scaled copies of LeastSquares."""

import numpy as np
import pytest
import scipy.optimize
import torch
from sklearn.linear_model import LinearRegression as SkLinearRegression
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

import gdbook
from gdbook import data, models, schedules, stochastic
from gdbook.problems import LeastSquares, Logistic, Scaled

RNG = np.random.default_rng(2024)
X = np.hstack([np.ones((36, 1)), RNG.standard_normal((36, 2))])
Y_REG = X @ np.array([1.0, -2.0, 0.5]) + 0.3 * RNG.standard_normal(36)
Y_OUT = Y_REG + np.where(
    RNG.uniform(size=36) < 0.25, 8.0, 0.0
)  # a quarter of the targets are outliers
Y_BIN = (
    RNG.uniform(size=36) < 1 / (1 + np.exp(-X @ np.array([0.5, 2.0, -1.0])))
).astype(float)
Y_CLS = np.argmax(
    X @ RNG.standard_normal((3, 4)) + RNG.gumbel(size=(36, 4)), axis=1
).astype(float)

MODELS = {
    "linear 1/(2n)": LeastSquares(X, Y_REG),
    "linear 1/n": Scaled(
        LeastSquares(X, Y_REG), 2.0
    ),  # c ||Xw - y||^2 = 2cn * the 1/(2n) loss
    "linear 1/2": Scaled(LeastSquares(X, Y_REG), 36.0),
    "linear 1": Scaled(LeastSquares(X, Y_REG), 72.0),
    "linear-l2": LeastSquares(X, Y_REG, l2=0.3),
    "logistic": Logistic(X, Y_BIN),
    "logistic-l2": Logistic(X, Y_BIN, l2=0.2),
    "softmax": models.SoftmaxRegression(X, Y_CLS),
    "softmax-l2": models.SoftmaxRegression(X, Y_CLS, l2=0.1),
    "robust": models.RobustRegression(X, Y_OUT, scale=0.5),
}


def _torch_loss(model, w):
    """Each loss written again in torch, from its textbook formula, for
    autograd to differentiate."""
    if isinstance(model, Scaled):
        return model.factor * _torch_loss(model.problem, w)
    Xt = torch.tensor(model.X)
    if isinstance(model, LeastSquares):
        return (
            torch.sum((Xt @ w - torch.tensor(model.y)) ** 2)
            / (2 * model.n_samples)
            + 0.5 * model.l2 * w @ w
        )
    if isinstance(model, Logistic):
        bce = torch.nn.functional.binary_cross_entropy_with_logits(
            Xt @ w, torch.tensor(model.y)
        )
        return bce + 0.5 * model.l2 * w @ w
    if isinstance(model, models.SoftmaxRegression):
        logits = Xt @ w.reshape(model.n_features, model.n_classes)
        return (
            torch.nn.functional.cross_entropy(logits, torch.tensor(model.y))
            + 0.5 * model.l2 * w @ w
        )
    if isinstance(model, models.RobustRegression):
        r = (Xt @ w - torch.tensor(model.y)) / model.scale
        return 0.5 * model.scale**2 * torch.mean(torch.log1p(r**2))
    raise TypeError(model)


def _points(model, count=3):
    rng = np.random.default_rng(5)
    return [rng.normal(0.0, 1.5, model.dim) for _ in range(count)]


def assert_matches_autograd(model, torch_loss, w):
    """model.value(w) and model.grad(w) equal torch_loss(model, w) and its
    gradient by autograd, in float64."""
    wt = torch.tensor(w, requires_grad=True)
    loss = torch_loss(model, wt)
    (autograd,) = torch.autograd.grad(loss, wt)
    assert model.value(w) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(
        model.grad(w), autograd.numpy(), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("name", MODELS)
def test_value_gradient_and_hessian_match_torch_autograd(name):
    model = MODELS[name]
    for w in _points(model):
        assert_matches_autograd(model, _torch_loss, w)
        hessian = torch.autograd.functional.hessian(
            lambda v: _torch_loss(model, v), torch.tensor(w)
        )
        np.testing.assert_allclose(
            model.hessian(w), hessian.numpy(), rtol=1e-9, atol=1e-11
        )


@pytest.mark.parametrize("name", MODELS)
def test_sample_gradients_average_to_the_full_gradient(name):
    model = MODELS[name]
    w = _points(model, 1)[0]
    every = model.sample_grads(
        np.tile(w, (model.n_samples, 1)), np.arange(model.n_samples)
    )
    np.testing.assert_allclose(
        every.mean(axis=0), model.grad(w), rtol=1e-10, atol=1e-12
    )
    W = np.array(_points(model, 4))
    idx = np.array([0, 7, 7, 35])
    for row, w_r, i in zip(model.sample_grads(W, idx), W, idx, strict=True):
        np.testing.assert_allclose(
            row, model.grad(w_r, np.array([i])), rtol=1e-12, atol=1e-14
        )
    spread = np.mean(np.sum((every - model.grad(w)) ** 2, axis=1))
    assert stochastic.gradient_variance(model, w) == pytest.approx(
        spread, rel=1e-12
    )


@pytest.mark.parametrize("name", MODELS)
def test_smoothness_constants_bound_every_hessian(name):
    """|eigenvalues| of the Hessian <= L everywhere (>= mu for convex models);
    each f_i's Hessian <= L_max."""
    model = MODELS[name]
    for w in _points(model, 8) + [np.zeros(model.dim)]:
        eigenvalues = np.linalg.eigvalsh(model.hessian(w))
        assert np.max(np.abs(eigenvalues)) <= model.L * (1 + 1e-10)
        if model.mu is not None:
            assert eigenvalues[0] >= model.mu - 1e-10 * model.L
        for i in (0, 11, 35):
            single = np.linalg.eigvalsh(_sample_hessian(model, w, i))
            assert np.max(np.abs(single)) <= model.L_max * (1 + 1e-6)


def _sample_hessian(model, w, i):
    """The Hessian of f_i by central differences of the one-sample gradient."""
    h, columns = 1e-6, []
    for j in range(model.dim):
        e = np.zeros(model.dim)
        e[j] = h
        columns.append(
            (
                model.grad(w + e, np.array([i]))
                - model.grad(w - e, np.array([i]))
            )
            / (2 * h)
        )
    return (np.array(columns) + np.array(columns).T) / 2


def test_linear_conventions_share_the_minimiser_and_scale_L_by_2c():
    base = MODELS["linear 1/(2n)"]
    np.testing.assert_allclose(
        base.x_star,
        SkLinearRegression(fit_intercept=False).fit(X, Y_REG).coef_,
        rtol=1e-10,
    )
    n, gram_max = len(Y_REG), np.linalg.eigvalsh(X.T @ X)[-1]
    for name, c in [
        ("linear 1/(2n)", 1 / (2 * n)),
        ("linear 1/n", 1 / n),
        ("linear 1/2", 0.5),
        ("linear 1", 1.0),
    ]:
        model = MODELS[name]
        assert model is base or model.factor == pytest.approx(2 * c * n)
        assert model.L == pytest.approx(2 * c * gram_max, rel=1e-12)
        np.testing.assert_allclose(model.x_star, base.x_star, rtol=1e-10)
        assert model.f_star == pytest.approx(
            model.value(base.x_star), rel=1e-12
        )
    np.testing.assert_allclose(
        base.value(base.x_star),
        gdbook.problems.LeastSquares(X, Y_REG).f_star,
        rtol=1e-12,
    )


def test_scaling_the_learning_rate_by_1_over_2cn_gives_identical_iterates():
    lr = 0.9 / MODELS["linear 1/(2n)"].L
    paths = [
        gdbook.minimize(
            m,
            np.zeros(3),
            lr=lr / getattr(m, "factor", 1.0),
            max_iter=50,
            tol=0,
        ).history["x"]
        for m in (
            MODELS[k]
            for k in ("linear 1/(2n)", "linear 1/n", "linear 1/2", "linear 1")
        )
    ]
    for path in paths[1:]:
        np.testing.assert_allclose(path, paths[0], rtol=1e-10, atol=1e-12)


def test_the_same_learning_rate_diverges_under_the_sum_convention():
    lr = 0.9 / MODELS["linear 1/(2n)"].L
    assert gdbook.minimize(
        MODELS["linear 1/(2n)"], np.zeros(3), lr=lr, max_iter=2000, tol=1e-9
    ).success
    diverged = gdbook.minimize(
        MODELS["linear 1/2"], np.zeros(3), lr=lr, max_iter=2000, tol=1e-9
    )
    assert (
        not diverged.success
        and "above the stability limit" in diverged.message
    )


def _minimise(model):
    res = scipy.optimize.minimize(
        model.value,
        np.zeros(model.dim),
        jac=model.grad,
        method="L-BFGS-B",
        options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 10000},
    )
    assert np.linalg.norm(model.grad(res.x)) < 1e-8
    return res.x


def test_logistic_minimiser_matches_scikit_learn():
    model = MODELS["logistic-l2"]
    sk = SkLogisticRegression(
        C=1 / (model.n_samples * model.l2),
        fit_intercept=False,
        tol=1e-12,
        max_iter=10000,
    )
    np.testing.assert_allclose(
        _minimise(model), sk.fit(X, Y_BIN).coef_[0], rtol=1e-5, atol=1e-6
    )
    p = model.predict_proba(_minimise(model))
    np.testing.assert_allclose(p, sk.predict_proba(X)[:, 1], rtol=1e-5)


def test_softmax_minimiser_matches_scikit_learn_multinomial():
    model = MODELS["softmax-l2"]
    sk = SkLogisticRegression(
        C=1 / (model.n_samples * model.l2),
        fit_intercept=False,
        tol=1e-12,
        max_iter=10000,
    )
    sk.fit(X, Y_CLS.astype(int))
    w = _minimise(model)
    np.testing.assert_allclose(
        model.weights(w), sk.coef_.T, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        model.predict_proba(w), sk.predict_proba(X), atol=1e-6
    )
    np.testing.assert_array_equal(model.predict(w), sk.predict(X))
    np.testing.assert_allclose(
        model.weights(w).sum(axis=1), 0.0, atol=1e-6
    )  # l2 picks the centred W


def test_softmax_with_two_classes_is_logistic_regression_on_the_difference():
    model = models.SoftmaxRegression(X, Y_BIN)
    logistic = MODELS["logistic"]
    for w in _points(model):
        W = model.weights(w)
        assert model.value(w) == pytest.approx(
            logistic.value(W[:, 1] - W[:, 0]), rel=1e-12
        )


def test_robust_regression_is_non_convex_bounded_below_and_ignores_outliers():
    model = MODELS["robust"]
    eigenvalues = [
        np.linalg.eigvalsh(model.hessian(w))[0] for w in _points(model, 20)
    ]
    assert min(eigenvalues) < 0, (
        "the Cauchy loss should have negative curvature somewhere"
    )
    assert all(model.value(w) >= 0 for w in _points(model, 20))
    clean = _minimise(model)
    ls = np.linalg.lstsq(X, Y_OUT, rcond=None)[0]
    truth = np.array([1.0, -2.0, 0.5])
    assert np.linalg.norm(clean - truth) < 0.5 < np.linalg.norm(ls - truth)


def test_sgd_ensemble_is_single_sample_sgd_in_lockstep():
    model = MODELS["linear 1/(2n)"]
    schedule = schedules.inverse_time(0.05, 0.1)
    paths = stochastic.sgd_ensemble(
        model, np.ones(3), schedule, steps=30, runs=5, seed=9, record_every=3
    )
    assert paths.shape == (11, 5, 3)
    rng, W = np.random.default_rng(9), np.tile(np.ones(3), (5, 1))
    for t in range(30):
        idx = rng.integers(model.n_samples, size=5)
        W = W - schedule(t) * np.array(
            [model.grad(w, np.array([i])) for w, i in zip(W, idx, strict=True)]
        )
        if (t + 1) % 3 == 0:
            np.testing.assert_allclose(paths[(t + 1) // 3], W, rtol=1e-12)


def test_mean_squared_distance_averages_over_runs():
    paths = np.array(
        [[[0.0, 0.0], [3.0, 4.0]], [[1.0, 0.0], [1.0, 0.0]]]
    )  # 2 records, 2 runs, dim 2
    mean, err = stochastic.mean_squared_distance(paths, np.zeros(2))
    np.testing.assert_allclose(mean, [12.5, 1.0])
    np.testing.assert_allclose(err, [12.5 / np.sqrt(2), 0.0])
    with pytest.raises(ValueError, match="paths must have shape"):
        stochastic.mean_squared_distance(np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="x_star must have shape"):
        stochastic.mean_squared_distance(paths, np.zeros(3))


def test_sgd_ensemble_step_is_unbiased():
    model = MODELS["logistic-l2"]
    w0 = np.array([0.5, -1.0, 2.0])
    first = stochastic.sgd_ensemble(
        model, w0, 0.1, steps=1, runs=40000, seed=1
    )[1]
    np.testing.assert_allclose(
        first.mean(axis=0), w0 - 0.1 * model.grad(w0), atol=3e-3
    )


def test_models_run_in_minimize_and_reach_the_minimiser():
    ds = data.linear_regression(n_samples=50, seed=3)
    model = Scaled(LeastSquares(data.add_intercept(ds.X), ds.y), 2.0)
    result = gdbook.minimize(model, np.zeros(2), tol=1e-10, max_iter=5000)
    assert result.success
    np.testing.assert_allclose(result.x, model.x_star, atol=1e-9)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (
            lambda: Scaled(LeastSquares(X, Y_REG), 0.0),
            ValueError,
            "factor must be nonzero",
        ),
        (lambda: Scaled(X, 2.0), TypeError, "problem must have value"),
        (lambda: LeastSquares(X, Y_REG[:5]), ValueError, "y must have shape"),
        (lambda: Logistic(X, Y_REG), ValueError, "labels 0 and 1"),
        (
            lambda: models.SoftmaxRegression(X, Y_CLS + 0.5),
            ValueError,
            "class labels",
        ),
        (
            lambda: models.SoftmaxRegression(X, Y_CLS, n_classes=2),
            ValueError,
            "below n_classes",
        ),
        (
            lambda: models.SoftmaxRegression(X, np.zeros(36)),
            ValueError,
            "n_classes must be >= 2",
        ),
        (
            lambda: models.RobustRegression(X, Y_REG, scale=0.0),
            ValueError,
            "scale must be > 0",
        ),
        (
            lambda: MODELS["softmax"].grad(np.zeros(3)),
            ValueError,
            r"x must have shape \(12,\)",
        ),
        (
            lambda: MODELS["robust"].sample_grads(np.zeros(3), [0]),
            ValueError,
            r"W must have shape \(runs, 3\)",
        ),
        (
            lambda: MODELS["robust"].sample_grads(np.zeros((2, 3)), [0, 36]),
            ValueError,
            r"idx must hold indices",
        ),
        (
            lambda: MODELS["robust"].sample_grads(
                np.zeros((2, 3)), [0.0, 1.0]
            ),
            ValueError,
            "idx must be an integer",
        ),
        (
            lambda: stochastic.sgd_ensemble(
                gdbook.problems.Rosenbrock(), np.zeros(2), 0.1, 1, 1
            ),
            TypeError,
            "model must",
        ),
        (
            lambda: stochastic.sgd_ensemble(
                MODELS["robust"], np.zeros(3), -0.1, 1, 1
            ),
            ValueError,
            "lr must be >= 0",
        ),
        (
            lambda: stochastic.sgd_ensemble(
                MODELS["robust"], np.zeros(3), 0.1, 1, 0
            ),
            ValueError,
            "runs must be >= 1",
        ),
    ],
)
def test_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_scaled_by_minus_one_turns_ascent_into_descent():
    f = LeastSquares(X, Y_REG)
    negated = Scaled(f, -1.0)
    w = _points(f, 1)[0]
    assert negated.value(w) == -f.value(w) and negated.L == f.L
    np.testing.assert_array_equal(
        negated.grad(w, np.array([3])), -f.grad(w, np.array([3]))
    )
    assert (
        negated.mu is None
        and negated.x_star is None
        and negated.f_star is None
    )

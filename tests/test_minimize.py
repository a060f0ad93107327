"""gdbook.minimize: convergence, history, stopping rules, divergence reports
and argument checks."""

import numpy as np
import pytest

import gdbook
from gdbook import data, theory
from gdbook.optim import SGD, Adam
from gdbook.problems import LeastSquares, Quadratic, Rosenbrock


@pytest.fixture
def quadratic():
    return Quadratic.random(4, 10.0, seed=0)


def test_gradient_descent_reaches_the_minimiser_and_records_history(quadratic):
    result = gdbook.minimize(quadratic, np.zeros(4), max_iter=500, tol=1e-10)
    assert result.success, result.message
    np.testing.assert_allclose(result.x, quadratic.x_star, atol=1e-9)
    assert result.fun == pytest.approx(quadratic.f_star, abs=1e-15)
    h = result.history
    assert h["x"].shape == (result.nit + 1, 4)
    assert h["f"].shape == h["grad_norm"].shape == (result.nit + 1,)
    assert h["step_size"].shape == (result.nit,)
    np.testing.assert_allclose(h["step_size"], 1.0 / quadratic.L)
    np.testing.assert_allclose(h["f"], [quadratic.value(x) for x in h["x"]])
    assert h["grad_norm"][-1] <= 1e-10 < h["grad_norm"][-2]


def test_history_follows_the_optimizer_step_by_step(quadratic):
    opt = Adam(lr=0.05)
    result = gdbook.minimize(
        quadratic, np.ones(4), method=opt, max_iter=20, tol=0.0
    )
    x, state = np.ones(4), opt.init(np.ones(4))
    for t in range(20):
        x, state = opt.step(x, quadratic.grad(x), state)
        np.testing.assert_array_equal(result.history["x"][t + 1], x)
    assert result.nit == 20 and not result.success
    assert "max_iter" in result.message


@pytest.mark.parametrize(
    "method", ["gd", "sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw"]
)
def test_every_named_method_runs(method, quadratic):
    lr = {"adadelta": 1.0, "gd": None}.get(method, 0.02)
    result = gdbook.minimize(
        quadratic, np.zeros(4), method=method, lr=lr, max_iter=50, tol=0.0
    )
    assert result.nit == 50
    assert result.history["f"][-1] < result.history["f"][0]


def test_relative_change_stops_the_run(quadratic):
    result = gdbook.minimize(
        quadratic, np.zeros(4), tol=0.0, ftol=1e-6, max_iter=10_000
    )
    assert result.success and "ftol" in result.message
    f = result.history["f"]
    assert abs(f[-1] - f[-2]) <= 1e-6 * max(abs(f[-1]), abs(f[-2]), 1.0)
    assert all(
        abs(a - b) > 1e-6 * max(abs(a), abs(b), 1.0)
        for a, b in zip(f[:-2], f[1:-1], strict=True)
    )


def test_callback_sees_each_iterate_and_can_stop(quadratic):
    seen = []

    def callback(t, x, f):
        seen.append((t, f))
        return t == 7

    result = gdbook.minimize(
        quadratic, np.zeros(4), tol=0.0, callback=callback
    )
    assert (
        result.nit == 7 and not result.success and "callback" in result.message
    )
    assert [t for t, _ in seen] == list(range(1, 8))
    np.testing.assert_allclose([f for _, f in seen], result.history["f"][1:])


def _recording_batches(problem):
    """A copy of a least-squares problem that appends every mini-batch index
    array it sees to a list."""
    used = []

    class Recording(LeastSquares):
        def grad(self, x, idx=None):
            if idx is not None:
                used.append(np.asarray(idx))
            return super().grad(x, idx)

    return Recording(problem.X, problem.y), used


def test_minibatch_sgd_uses_each_sample_once_per_epoch():
    ds = data.linear_regression(n_samples=60, n_features=2, seed=1)
    problem = LeastSquares(data.add_intercept(ds.X), ds.y)
    recording, used = _recording_batches(problem)
    result = gdbook.minimize(
        recording,
        np.zeros(3),
        method="sgd",
        lr=0.05,
        batch_size=20,
        max_iter=9,
        tol=0.0,
    )
    assert result.nit == 9 and len(used) == 9
    for epoch in range(3):
        np.testing.assert_array_equal(
            np.sort(np.concatenate(used[3 * epoch : 3 * epoch + 3])),
            np.arange(60),
        )
    again = gdbook.minimize(
        problem,
        np.zeros(3),
        method="sgd",
        lr=0.05,
        batch_size=20,
        max_iter=9,
        tol=0.0,
    )
    np.testing.assert_array_equal(again.x, result.x)
    other_seed = gdbook.minimize(
        problem,
        np.zeros(3),
        method="sgd",
        lr=0.05,
        batch_size=20,
        max_iter=9,
        tol=0.0,
        seed=1,
    )
    assert not np.array_equal(other_seed.x, result.x)


@pytest.mark.parametrize("factor", [2.05, 2.5, 4.0])
def test_step_beyond_two_over_L_is_stopped_and_reported(factor, quadratic):
    lr = factor / quadratic.L
    result = gdbook.minimize(quadratic, np.ones(4), lr=lr, max_iter=5000)
    assert not result.success
    assert result.nit < 5000
    assert np.all(np.isfinite(result.history["f"]))
    assert f"diverged at iteration {result.nit}" in result.message
    assert "above the stability limit 2/L" in result.message
    assert f"2/L = {2 / quadratic.L:.4g}" in result.message
    assert (
        f"(lr*L = {factor:g})" in result.message
    )  # the factor itself, never a rounding of lr


def test_divergence_to_overflow_is_reported_not_hidden():
    problem = Rosenbrock()
    result = gdbook.minimize(
        problem, np.array([-1.5, 2.0]), method="sgd", lr=0.1, max_iter=100
    )
    assert not result.success
    assert "diverged at iteration" in result.message
    assert result.nit < 100


def test_step_below_two_over_L_is_not_flagged(quadratic):
    result = gdbook.minimize(
        quadratic, np.ones(4), lr=1.9 / quadratic.L, max_iter=3000, tol=1e-9
    )
    assert result.success, result.message


def test_zero_iterations_and_already_optimal_start(quadratic):
    result = gdbook.minimize(quadratic, np.ones(4), max_iter=0)
    assert (
        result.nit == 0
        and not result.success
        and result.history["x"].shape == (1, 4)
    )
    at_optimum = gdbook.minimize(quadratic, quadratic.x_star, tol=1e-6)
    assert at_optimum.success and at_optimum.nit == 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"x0": np.array([0.0, np.nan, 0.0, 0.0])},
            ValueError,
            "x0 must be finite",
        ),
        ({"x0": np.zeros(3)}, ValueError, r"x0 must have shape \(4,\)"),
        ({"x0": np.zeros((2, 2))}, ValueError, "x0 must be a 1-D"),
        ({"method": "newtonish"}, ValueError, "method must be one of"),
        ({"max_iter": -1}, ValueError, "max_iter"),
        ({"max_iter": 2.5}, TypeError, "max_iter"),
        ({"tol": -1e-3}, ValueError, "tol"),
        ({"lr": -0.1}, ValueError, "lr"),
        ({"lr": float("inf")}, ValueError, "lr"),
        ({"lr": float("nan")}, ValueError, "lr"),
        ({"method": SGD(lr=0.1), "lr": 0.1}, ValueError, "lr must be None"),
        ({"batch_size": 2}, ValueError, "problem must be a finite sum"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, match, quadratic):
    kwargs = {"x0": np.zeros(4), **kwargs}
    with pytest.raises(error, match=match):
        gdbook.minimize(quadratic, **kwargs)


def test_objective_and_gradient_shape_are_checked():
    with pytest.raises(TypeError, match="problem must have value"):
        gdbook.minimize(lambda x: x @ x, np.zeros(2))

    class WrongGradient(Quadratic):
        def grad(self, x, idx=None):
            return super().grad(x)[
                :, None
            ]  # (dim, 1): would broadcast silently

    bad = WrongGradient(np.eye(2))
    with pytest.raises(
        ValueError, match=r"problem.grad\(x\) must have the shape of x"
    ):
        gdbook.minimize(bad, np.ones(2), lr=0.1, max_iter=3)


def test_gd_needs_lr_when_L_is_unknown():
    from gdbook.problems import Himmelblau

    with pytest.raises(ValueError, match="lr must be given"):
        gdbook.minimize(Himmelblau(), np.zeros(2))
    result = gdbook.minimize(
        Himmelblau(), np.zeros(2), lr=0.01, max_iter=2000, tol=1e-8
    )
    assert result.success
    assert np.min(np.linalg.norm(Himmelblau.minima - result.x, axis=1)) < 1e-6


def test_bad_batch_size_is_rejected():
    ds = data.linear_regression(n_samples=10, seed=0)
    problem = LeastSquares(data.add_intercept(ds.X), ds.y)
    for batch_size, match in [
        (0, "batch_size must be >= 1"),
        (11, "batch_size must be <= n_samples"),
    ]:
        with pytest.raises(ValueError, match=match):
            gdbook.minimize(
                problem,
                np.zeros(2),
                method="sgd",
                lr=0.1,
                batch_size=batch_size,
            )


def test_result_repr_shows_one_entry_per_line_and_summarises_the_arrays(
    quadratic,
):
    text = repr(gdbook.minimize(quadratic, np.zeros(4), max_iter=3, tol=0.0))
    lines = dict(line.strip().split(": ", 1) for line in text.splitlines())
    assert (
        lines["nit"] == "3"
        and lines["success"] == "False"
        and lines["status"] == "<Status.MAX_ITER: 1>"
    )
    assert (
        lines["history"] == "<dict: t, x, f, grad_norm, step_size>"
        and len(text) < 1000
    )


def test_result_is_a_dict_with_attribute_access_like_scipys(quadratic):
    result = gdbook.minimize(quadratic, np.zeros(4), max_iter=3, tol=0.0)
    assert (
        "x" in result
        and result["fun"] == result.fun
        and result.keys() >= {"x", "status", "history"}
    )
    assert {key for key in result} == set(dir(result))
    with pytest.raises(AttributeError, match="no key 'jac'"):
        _ = result.jac


@pytest.mark.parametrize(
    "run, status",
    [
        (
            lambda q: gdbook.minimize(q, np.zeros(4), tol=1e-6),
            gdbook.Status.CONVERGED,
        ),
        (
            lambda q: gdbook.minimize(q, np.zeros(4), max_iter=2, tol=0.0),
            gdbook.Status.MAX_ITER,
        ),
        (
            lambda q: gdbook.minimize(q, np.zeros(4), lr=3 / q.L, tol=0.0),
            gdbook.Status.DIVERGED,
        ),
        (
            lambda q: gdbook.minimize(
                q, np.zeros(4), tol=0.0, callback=lambda t, x, f: t == 2
            ),
            gdbook.Status.CALLBACK_STOP,
        ),
    ],
)
def test_status_says_why_the_run_stopped_and_success_means_converged(
    quadratic, run, status
):
    result = run(quadratic)
    assert result.status == status and result.success == (
        status == gdbook.Status.CONVERGED
    )


@pytest.mark.parametrize(
    "problem, x0, method, options",
    [
        # one step overflows x between recorded iterates
        (
            Quadratic.random(3, 10, seed=1),
            np.ones(3),
            "gd",
            dict(lr=1e10, max_iter=1000, record_every=100),
        ),
        # 0/0 in Adam's update without eps
        (
            Quadratic(np.eye(2)),
            [1.0, 0.0],
            Adam(0.1, eps=0.0),
            dict(max_iter=5),
        ),
        # f overflows at the start: Newton's line search would meet a NaN slope
        (Rosenbrock(), [1e150] * 2, "newton", {}),
    ],
)
def test_every_blow_up_is_reported_with_its_history_never_raised(
    problem, x0, method, options
):
    result = gdbook.minimize(problem, x0, method, **options)
    assert result.status == gdbook.Status.DIVERGED and not result.success
    assert result.message.startswith(f"diverged at iteration {result.nit}")
    assert result.history["t"][-1] == result.nit and np.all(
        np.isfinite(result.history["f"][:-1])
    )


def test_gd_bound_check_example_from_theory(quadratic):
    """A smoke link between minimize and theory: the strongly convex bound
    holds on this run."""
    x0 = np.ones(4)
    result = gdbook.minimize(quadratic, x0, max_iter=100, tol=0.0)
    gaps = result.history["f"] - quadratic.f_star
    bound = theory.strongly_convex_bound(
        np.arange(101), 1 / quadratic.L, quadratic.L, quadratic.mu, gaps[0]
    )
    assert np.all(gaps <= bound * (1 + 1e-9) + 1e-15)


def test_evaluation_counts(quadratic):
    full = gdbook.minimize(quadratic, np.ones(4), max_iter=10, tol=0.0)
    assert (full.nfev, full.njev, full.nhev) == (
        11,
        11,
        0,
    )  # one f and one gradient per iterate
    ds = data.linear_regression(n_samples=30, seed=0)
    problem = LeastSquares(data.add_intercept(ds.X), ds.y)
    batched = gdbook.minimize(
        problem, np.zeros(2), "sgd", lr=0.1, batch_size=5, max_iter=10, tol=0.0
    )
    assert (batched.nfev, batched.njev) == (
        11,
        21,
    )  # plus one mini-batch gradient per step


def test_record_every_k_steps_keeps_the_trajectory_and_saves_evaluations():
    ds = data.linear_regression(n_samples=200, n_features=2, seed=3)
    problem = LeastSquares(data.add_intercept(ds.X), ds.y)
    common = dict(method="sgd", lr=0.05, batch_size=10, max_iter=95, tol=0.0)
    every = gdbook.minimize(problem, np.zeros(3), **common)
    sparse = gdbook.minimize(problem, np.zeros(3), record_every=20, **common)
    np.testing.assert_array_equal(sparse.history["t"], [0, 20, 40, 60, 80, 95])
    np.testing.assert_array_equal(
        sparse.history["x"], every.history["x"][sparse.history["t"]]
    )
    np.testing.assert_array_equal(
        sparse.history["f"], every.history["f"][sparse.history["t"]]
    )
    np.testing.assert_array_equal(every.history["t"], np.arange(96))
    assert len(sparse.history["step_size"]) == 95 and sparse.fun == every.fun
    assert (sparse.nfev, sparse.njev) == (
        6,
        95 + 6,
    )  # one batch gradient per step, full ones when recorded
    with pytest.raises(ValueError, match="record_every"):
        gdbook.minimize(problem, np.zeros(3), record_every=0, **common)


def test_sampling_with_replacement_draws_independent_batches():
    ds = data.linear_regression(n_samples=12, seed=0)
    problem = LeastSquares(data.add_intercept(ds.X), ds.y)
    recording, used = _recording_batches(problem)
    gdbook.minimize(
        recording,
        np.zeros(2),
        "sgd",
        lr=0.01,
        batch_size=4,
        sampling="replace",
        max_iter=300,
        tol=0.0,
    )
    draws = np.concatenate(used)
    first_epoch = np.concatenate(used[:3])
    assert len(draws) == 1200 and set(draws) == set(range(12))
    assert (
        len(set(first_epoch)) < 12 or len(set(np.concatenate(used[3:6]))) < 12
    )  # repeats within an "epoch"
    np.testing.assert_allclose(np.bincount(draws) / 1200, 1 / 12, atol=0.025)
    with pytest.raises(
        ValueError, match="sampling must be one of shuffle, replace"
    ):
        gdbook.minimize(
            problem,
            np.zeros(2),
            "sgd",
            lr=0.01,
            batch_size=4,
            sampling="bootstrap",
        )


def test_result_carries_the_final_optimizer_state(quadratic):
    result = gdbook.minimize(
        quadratic, np.ones(4), method=Adam(lr=0.05), max_iter=7, tol=0.0
    )
    assert result.state["step"] == 7
    opt = Adam(lr=0.05)
    x, state = np.ones(4), opt.init(np.ones(4))
    for _ in range(7):
        x, state = opt.step(x, quadratic.grad(x), state)
    np.testing.assert_array_equal(
        result.state["exp_avg_sq"], state["exp_avg_sq"]
    )


def test_callback_also_sees_the_converged_iterate(quadratic):
    seen = []
    result = gdbook.minimize(
        quadratic,
        np.ones(4),
        tol=1e-6,
        callback=lambda t, x, f: seen.append(t),
    )
    assert result.success and seen == list(range(1, result.nit + 1))


@pytest.mark.parametrize(
    "options, error, match",
    [
        (dict(seed=-1), ValueError, "seed must be >= 0"),
        (dict(seed="abc"), TypeError, "seed must be an integer"),
        (dict(callback=5), TypeError, "callback must be callable"),
    ],
)
def test_bad_seed_or_callback_is_refused_before_any_work(
    quadratic, options, error, match
):
    with pytest.raises(error, match=match):
        gdbook.minimize(quadratic, np.zeros(4), max_iter=3, **options)


def test_a_schedule_is_evaluated_once_per_step(quadratic):
    calls = []

    def schedule(t):
        calls.append(t)
        return 0.5 / quadratic.L

    result = gdbook.minimize(
        quadratic, np.ones(4), SGD(schedule), max_iter=7, tol=0.0
    )
    assert calls == list(range(7)) and np.all(
        result.history["step_size"] == 0.5 / quadratic.L
    )

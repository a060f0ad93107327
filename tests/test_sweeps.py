"""Learning-rate sweeps: closed forms on quadratics, the 2/L edge, averaging
over seeds, validation."""

import numpy as np
import pytest

import gdbook
from gdbook import data
from gdbook.optim import SGD, Adam
from gdbook.problems import LeastSquares, Quadratic
from gdbook.sweeps import lr_sweep

Q = Quadratic.random(5, 20.0, seed=3)
X0 = np.ones(5)


def _gd_final_gap(q, x0, lr, steps):
    """f(x_T) - f* for gradient descent on a quadratic, in closed form along
    the eigenvectors."""
    eigenvalues, vectors = np.linalg.eigh(q.A)
    c = vectors.T @ (x0 - q.x_star)
    return 0.5 * np.sum(
        eigenvalues * ((1 - lr * eigenvalues) ** steps * c) ** 2
    )


def test_final_losses_equal_closed_form_and_divergence_starts_at_2_over_L():
    lrs = np.array([0.2, 0.5, 1.0, 1.5, 1.9, 2.1, 3.0]) / Q.L
    sweep = lr_sweep(Q, X0, lrs, max_iter=60)
    np.testing.assert_array_equal(sweep.lrs, lrs)
    np.testing.assert_array_equal(sweep.diverged, lrs > 2 / Q.L)
    for lr, final, diverged in zip(
        lrs, sweep.final, sweep.diverged, strict=True
    ):
        if diverged:
            assert np.isnan(final)
        else:
            np.testing.assert_allclose(
                final - Q.f_star,
                _gd_final_gap(Q, X0, lr, 60),
                rtol=1e-8,
                atol=1e-13,
            )
    assert sweep.largest_stable_lr == pytest.approx(1.9 / Q.L)
    assert sweep.smallest_divergent_lr == pytest.approx(2.1 / Q.L)
    # the smallest closed-form gap among the stable runs is the best learning
    # rate
    gaps = [_gd_final_gap(Q, X0, lr, 60) for lr in lrs[:5]]
    assert sweep.best_lr == pytest.approx(lrs[int(np.argmin(gaps))])


def test_divergence_is_either_stopped_by_minimize_or_an_end_above_the_start():
    sweep = lr_sweep(Q, X0, [2.1 / Q.L, 3.0 / Q.L], max_iter=60)
    slow, fast = sweep.curves
    assert (
        len(slow) == 61 and slow[-1] > slow[0]
    )  # grows 1.1x per step: not yet 1e6 times
    result = gdbook.minimize(Q, X0, lr=3.0 / Q.L, max_iter=60, tol=0.0)
    assert (
        result.status == gdbook.Status.DIVERGED
        and len(fast) == result.nit + 1 < 61
    )
    np.testing.assert_array_equal(fast, result.history["f"])
    assert np.all(sweep.diverged) and np.all(np.isnan(sweep.final))


def test_input_order_does_not_matter_and_curves_follow_the_sorted_lrs():
    a = lr_sweep(Q, X0, [0.03, 0.001, 0.01], max_iter=20)
    b = lr_sweep(Q, X0, [0.001, 0.01, 0.03], max_iter=20)
    np.testing.assert_array_equal(a.final, b.final)
    assert a.curves[0].shape == (21,)
    np.testing.assert_array_equal(
        a.curves[2],
        gdbook.minimize(Q, X0, lr=0.03, max_iter=20, tol=0).history["f"],
    )


def test_stochastic_sweep_averages_the_tail_over_seeds():
    ds = data.linear_regression(n_samples=64, n_features=3, seed=2)
    problem = LeastSquares(data.add_intercept(ds.X), ds.y)
    w0 = np.zeros(4)
    sweep = lr_sweep(
        problem,
        w0,
        [0.05, 0.2],
        method=lambda lr: SGD(lr, momentum=0.5),
        max_iter=40,
        batch_size=8,
        seeds=(0, 1, 2),
        average_last=5,
    )
    for lr, final in zip(sweep.lrs, sweep.final, strict=True):
        tails = [
            gdbook.minimize(
                problem,
                w0,
                SGD(lr, momentum=0.5),
                max_iter=40,
                tol=0.0,
                batch_size=8,
                seed=s,
            )
            .history["f"][-5:]
            .mean()
            for s in (0, 1, 2)
        ]
        assert final == pytest.approx(np.mean(tails), rel=1e-12)


def test_methods_by_name_and_by_factory_agree():
    by_name = lr_sweep(Q, X0, [0.01, 0.1], method="adam", max_iter=30)
    by_factory = lr_sweep(
        Q, X0, [0.01, 0.1], method=lambda lr: Adam(lr=lr), max_iter=30
    )
    np.testing.assert_array_equal(by_name.final, by_factory.final)


def test_all_diverged_has_no_best_lr():
    sweep = lr_sweep(Q, X0, [2.5 / Q.L, 4.0 / Q.L], max_iter=400)
    assert (
        sweep.largest_stable_lr is None
        and sweep.smallest_divergent_lr == pytest.approx(2.5 / Q.L)
    )
    with pytest.raises(ValueError, match="every run diverged"):
        _ = sweep.best_lr


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lrs": []}, "lrs must hold"),
        ({"lrs": [0.1, -0.1]}, "lrs must be > 0"),
        ({"lrs": [float("inf")]}, "lrs must be finite"),
        ({"max_iter": 0}, "max_iter must be >= 1"),
        ({"average_last": 50}, "average_last must be <= max_iter"),
        ({"seeds": ()}, "seeds must hold"),
        ({"method": "newton"}, "method must be"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, match):
    args = {"lrs": [0.1], "max_iter": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        lr_sweep(Q, X0, **args)


def test_plot_draws_finite_points_and_marks_diverged_runs():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gdbook import plot

    lrs = np.array([0.5, 1.0, 1.9, 2.5, 3.0]) / Q.L
    sweep = lr_sweep(Q, X0, lrs, max_iter=40)
    ax = plot.sweep_results(
        {"GD": sweep}, f_star=Q.f_star, marks={"2/L": 2 / Q.L}, title="t"
    )
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["GD"].get_xdata(), lrs)
    np.testing.assert_allclose(
        lines["GD"].get_ydata()[:3], sweep.final[:3] - Q.f_star
    )
    np.testing.assert_allclose(lines["GD: diverged"].get_xdata(), lrs[3:])
    assert np.all(
        lines["GD: diverged"].get_ydata() > np.nanmax(sweep.final - Q.f_star)
    )
    assert (
        ax.get_xscale() == ax.get_yscale() == "log" and ax.get_title() == "t"
    )
    plt.close("all")

"""gdbook.plot.iterates_1d and gdbook.plot.against_lr draw what they are given
(figures of chapter 2)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gdbook import plot  # noqa: E402
from gdbook.problems import Quadratic  # noqa: E402


def teardown_function():
    plt.close("all")


def test_iterates_1d_puts_each_iterate_on_the_graph():
    parabola = Quadratic([[4.0]], b=[4.0])
    path = [-1.0, 0.5, 0.9]
    ax = plot.iterates_1d(parabola, {"run": path}, xlim=(-2, 3), title="t")
    run = next(line for line in ax.get_lines() if line.get_label() == "run")
    np.testing.assert_allclose(
        run.get_xydata(), [[x, parabola.value([x])] for x in path]
    )
    assert ax.get_title() == "t" and ax.get_xlim() == (-2, 3)


def test_iterates_1d_needs_a_1d_problem():
    with pytest.raises(ValueError, match="1-D"):
        plot.iterates_1d(Quadratic(np.eye(2)), {}, xlim=(0, 1))


def test_against_lr_draws_curves_and_marks():
    lrs = np.array([0.1, 0.2, 0.3])
    ax = plot.against_lr(
        lrs,
        {"measured": [1, 2, 3], "theory": [1, 2, 3.5]},
        marks={"2/L": 0.25},
        log=True,
    )
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["measured"].get_xdata(), lrs)
    np.testing.assert_array_equal(lines["theory"].get_ydata(), [1, 2, 3.5])
    assert (
        lines["measured"].get_linestyle() == "None"
        and lines["theory"].get_color() == "black"
    )
    np.testing.assert_array_equal(lines["2/L"].get_xdata(), [0.25, 0.25])
    assert ax.get_yscale() == "log"


def test_against_lr_rejects_a_curve_of_the_wrong_length():
    with pytest.raises(
        ValueError, match="curves\\['a'\\] must have one value per lr"
    ):
        plot.against_lr([0.1, 0.2], {"a": [1.0]})

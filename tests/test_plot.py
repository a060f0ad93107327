"""gdbook.plot draws what it is asked to draw."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from PIL import Image  # noqa: E402

from gdbook import plot  # noqa: E402
from gdbook.problems import LeastSquares, Rosenbrock  # noqa: E402


def teardown_function():
    plt.close("all")


def test_contour_with_trajectories_draws_each_path_and_the_minimiser():
    path = np.array([[-1.0, 1.0], [0.0, 0.5], [1.0, 1.0]])
    ax = plot.contour_with_trajectories(
        Rosenbrock(),
        {"GD": path, "other": path[::-1]},
        xlim=(-2, 2),
        ylim=(-1, 3),
        title="t",
        resolution=40,
    )
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["GD"].get_xydata(), path)
    np.testing.assert_array_equal(lines["other"].get_xydata(), path[::-1])
    np.testing.assert_array_equal(lines["$x^*$"].get_xydata(), [[1.0, 1.0]])
    assert ax.get_title() == "t" and ax.get_xlim() == (-2, 2)
    assert len(ax.figure.axes) == 2  # the plot and its colour bar


def test_contour_needs_a_2d_problem():
    with pytest.raises(ValueError, match="2-D"):
        plot.contour(LeastSquares(np.ones((3, 3)), np.ones(3)))


def test_against_bound_plots_both_curves_on_log_axes():
    measured, bound = np.array([1.0, 0.5, 0.2]), np.array([1.0, 0.6, 0.3])
    ax = plot.against_bound(measured, bound, bound_label="theory")
    assert ax.get_yscale() == "log"
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["measured"], measured)
    np.testing.assert_array_equal(lines["theory"], bound)


def test_loss_curves_one_line_per_label():
    ax = plot.loss_curves({"a": [3, 2, 1], "b": [1, 1]}, log=False)
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert ax.get_yscale() == "linear"


def test_against_bounds_pairs_each_curve_with_its_bound_in_the_same_colour():
    curves = {"a": ([1.0, 0.5, 0.25], [1.0, 0.8, 0.6]), "b": ([2.0, 1.0], 3.0)}
    ax = plot.against_bounds(curves, logx=True, title="t")
    lines = ax.get_lines()
    assert [
        line.get_label()
        for line in lines
        if not line.get_label().startswith("_")
    ] == ["a", "b", "dashed: bound"]
    np.testing.assert_array_equal(lines[0].get_ydata(), [1.0, 0.5, 0.25])
    np.testing.assert_array_equal(lines[1].get_ydata(), [1.0, 0.8, 0.6])
    np.testing.assert_array_equal(lines[3].get_ydata(), [3.0, 3.0])
    assert (
        lines[0].get_color()
        == lines[1].get_color()
        != lines[2].get_color()
        == lines[3].get_color()
    )
    assert (
        lines[1].get_linestyle() == "--"
        and ax.get_xscale() == ax.get_yscale() == "log"
    )


def test_every_mark_is_drawn_even_beyond_the_line_styles():
    marks = {f"mark {k}": 0.1 * (k + 1) for k in range(6)}
    ax = plot.against_lr([0.1, 0.2], {"f": [1.0, 2.0]}, marks=marks)
    drawn = [line.get_label() for line in ax.get_lines()]
    assert all(label in drawn for label in marks)
    plt.close(ax.figure)


def figure_png(dpi=200):
    fig, ax = plt.subplots(figsize=(3.0, 2.0), dpi=dpi)
    t = np.linspace(0, 6, 200)
    for k in range(4):
        ax.plot(t, np.sin(t + k), label=f"curve {k}")
    ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return fig, buffer.getvalue()


def test_compact_png_keeps_the_picture_and_its_dpi_in_fewer_bytes():
    _, png = figure_png()
    compact = plot.compact_png(png)
    before, after = (
        Image.open(io.BytesIO(png)),
        Image.open(io.BytesIO(compact)),
    )
    assert after.mode == "P" and after.size == before.size
    assert after.info["dpi"] == pytest.approx(before.info["dpi"], abs=0.01)
    diff = np.abs(
        np.asarray(after.convert("RGB"), dtype=int)
        - np.asarray(before.convert("RGB"), dtype=int)
    )
    assert diff.mean() < 0.5  # of 255 levels
    assert len(compact) < 0.6 * len(png)


def test_use_book_style_shows_figures_as_compact_pngs_in_a_notebook():
    shell = InteractiveShell.instance()
    try:
        plot.use_book_style()
        fig, _ = figure_png()
        shown = shell.display_formatter.formatters["image/png"](fig)
        assert Image.open(io.BytesIO(shown)).mode == "P"
        empty = plt.figure()
        assert shell.display_formatter.formatters["image/png"](empty) is None
        plt.close(empty)
    finally:
        InteractiveShell.clear_instance()
        plt.rcdefaults()

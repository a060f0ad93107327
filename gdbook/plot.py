"""Matplotlib figures the book repeats: contours with trajectories, measured
curves against bounds, and animations of trajectories that play offline in the
HTML book."""

from __future__ import annotations

import io
import itertools
import re
import sys

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure
from PIL import Image

from . import _validate

# The book's text column is about 750 CSS px wide (sphinx-book-theme at
# 1280 px): a 7-inch figure fills it, so 10 pt text shows at about 15 px.
BOOK_STYLE = {
    "figure.figsize": (7.0, 4.5),
    "figure.dpi": 200,  # 2x, sharp on high-density screens
    "font.size": 10,
    "axes.titlesize": 11,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
}


def use_book_style():
    """Size figures for the book's page: 7 x 4.5 in, PNG at 200 dpi (2x),
    shown in a notebook as a compact PNG (:func:`compact_png`).

    The rules are those of NOTEBOOKS.md, "Figures": single panels fill the
    text column, at most two panels side by side, text at least 9 pt.
    """
    plt.rcParams.update(BOOK_STYLE)
    ipython = sys.modules.get("IPython")  # imported only in a notebook
    shell = ipython.get_ipython() if ipython else None
    if shell is not None:
        # the backend sets IPython's figure formatters when it loads, at the
        # first figure: load it now, so that it does not undo this one
        plt.close(plt.figure())
        shell.display_formatter.formatters["image/png"].for_type(
            Figure, _compact_figure
        )


def compact_png(png: bytes) -> bytes:
    """``png`` as a PNG of at most 256 colours, its dpi kept.

    A plot of lines, markers and text has few colours besides the shades
    that anti-aliasing adds; a palette of 256 (median cut, no dithering)
    changes a pixel by about 0.05 of 255 levels on average and makes the file
    about three times smaller, so a chapter's page stays light.
    """
    image = Image.open(io.BytesIO(png))
    palette = image.convert("RGB").quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    palette.save(out, format="png", optimize=True, dpi=image.info.get("dpi"))
    return out.getvalue()


def _compact_figure(fig: Figure) -> bytes | None:
    """A notebook's PNG of ``fig``: IPython's rendering (the inline
    backend's, tight bounding box), compacted; None for an empty figure, as
    IPython's."""
    from IPython.core.pylabtools import print_figure

    png = print_figure(fig, "png", bbox_inches="tight")
    return None if png is None else compact_png(png)


def _axes(ax):
    return plt.subplots()[1] if ax is None else ax


def _labelled(ax, xlabel: str, ylabel: str, title: str):
    """``ax`` with its axis labels, title, legend and a light grid."""
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    return ax


def _mark_minimiser(ax, problem) -> bool:
    """Mark ``problem.x_star`` on ``ax`` with a red cross labelled x*, on top
    of what is drawn; returns whether the problem knows its minimiser."""
    if getattr(problem, "x_star", None) is None:
        return False
    ax.plot(
        *problem.x_star,
        "x",
        color="red",
        markersize=10,
        mew=2,
        label="$x^*$",
        zorder=5,
    )
    return True


def contour(
    problem,
    xlim=(-2.0, 2.0),
    ylim=(-1.0, 3.0),
    ax=None,
    levels: int = 30,
    log: bool = True,
    resolution: int = 200,
):
    """Filled contours of a 2-D ``problem`` over ``xlim`` x ``ylim``.

    With ``log`` the levels are spaced evenly in log10(f - f_min + floor),
    floor = 1e-6 (f_max - f_min) on the grid, which shows both the valley floor
    and the steep walls of functions such as Rosenbrock.
    """
    if problem.dim != 2:
        raise ValueError(
            f"problem must be 2-D for a contour plot, got dim = {problem.dim}"
        )
    ax = _axes(ax)
    xs, ys = np.linspace(*xlim, resolution), np.linspace(*ylim, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    z = problem.values(
        np.column_stack([grid_x.ravel(), grid_y.ravel()])
    ).reshape(grid_x.shape)
    if log:
        z = np.log10(z - z.min() + max(1e-6 * (z.max() - z.min()), 1e-12))
    filled = ax.contourf(grid_x, grid_y, z, levels=levels, cmap="viridis")
    ax.contour(
        grid_x,
        grid_y,
        z,
        levels=levels,
        colors="white",
        linewidths=0.3,
        alpha=0.5,
    )
    ax.figure.colorbar(filled, ax=ax, label="log10(f - min f)" if log else "f")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", xlim=xlim, ylim=ylim)
    return ax


def trajectories(
    paths: dict, ax=None, marker: str = "o", markersize: float = 3
):
    """Draw each path (an array (T, 2) of iterates) with its label; the start
    is a square, the end a star."""
    ax = _axes(ax)
    for label, path in paths.items():
        path = np.asarray(path)
        (line,) = ax.plot(
            path[:, 0],
            path[:, 1],
            marker=marker,
            markersize=markersize,
            lw=1.2,
            label=label,
        )
        ax.plot(*path[0], "s", color=line.get_color(), markersize=6)
        ax.plot(
            *path[-1],
            "*",
            color=line.get_color(),
            markersize=12,
            markeredgecolor="black",
        )
    ax.legend(loc="best")
    return ax


def contour_with_trajectories(
    problem,
    paths: dict,
    xlim,
    ylim,
    title: str = "",
    ax=None,
    markersize: float = 3,
    **contour_options,
):
    """Contours of ``problem`` with optimizer trajectories on top; marks
    ``problem.x_star`` when known.

    ``contour_options`` go to :func:`contour` (levels, log, resolution).
    """
    ax = contour(problem, xlim, ylim, ax=ax, **contour_options)
    trajectories(paths, ax=ax, markersize=markersize)
    # drawn last, on top: a path that ends at x* must not hide it
    if _mark_minimiser(ax, problem):
        ax.legend(loc="best")
    ax.set_title(title)
    return ax


def against_bound(
    measured,
    bound,
    ax=None,
    t=None,
    ylabel: str = "$f(x_t) - f^*$",
    title: str = "",
    measured_label: str = "measured",
    bound_label: str = "bound",
):
    """A measured sequence and its theoretical bound on log-linear axes (the
    bound dashed)."""
    ax = _axes(ax)
    measured = np.asarray(measured, dtype=float)
    t = np.arange(len(measured)) if t is None else np.asarray(t)
    ax.semilogy(t, measured, lw=2, label=measured_label)
    ax.semilogy(
        t,
        np.broadcast_to(bound, t.shape),
        "--",
        color="black",
        lw=1.5,
        label=bound_label,
    )
    return _labelled(ax, "iteration $t$", ylabel, title)


def loss_curves(
    curves: dict,
    ax=None,
    xlabel: str = "iteration $t$",
    ylabel: str = "$f(x_t)$",
    title: str = "",
    log: bool = True,
):
    """One line per labelled curve (label -> sequence of values), log y axis by
    default."""
    ax = _axes(ax)
    for label, values in curves.items():
        ax.plot(np.arange(len(values)), values, lw=1.5, label=label)
    if log:
        ax.set_yscale("log")
    return _labelled(ax, xlabel, ylabel, title)


def against_bounds(
    curves: dict,
    ax=None,
    t=None,
    ylabel: str = "$f(x_t) - f^*$",
    title: str = "",
    logx: bool = False,
    bound_label: str = "dashed: bound",
):
    """Several measured sequences, each with its bound dashed in the same
    colour, on a log y axis.

    ``curves`` maps a label to (measured, bound); ``t`` (shared) defaults to 0,
    1, ... for each curve.
    """
    ax = _axes(ax)
    for label, (measured, bound) in curves.items():
        measured = np.asarray(measured, dtype=float)
        steps = np.arange(len(measured)) if t is None else np.asarray(t)
        (line,) = ax.plot(steps, measured, lw=2, label=label)
        ax.plot(
            steps,
            np.broadcast_to(bound, steps.shape),
            "--",
            color=line.get_color(),
            lw=1.3,
        )
    ax.plot([], [], "--", color="gray", label=bound_label)
    ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    return _labelled(ax, "iteration $t$", ylabel, title)


def iterates_1d(
    problem, paths: dict, xlim, ax=None, title: str = "", resolution: int = 300
):
    """A 1-D ``problem``'s graph with each path (a sequence of scalar iterates)
    drawn on it, step by step.

    Consecutive iterates are joined by straight lines; the start is a square,
    the last point a star.
    """
    if problem.dim != 1:
        raise ValueError(f"problem must be 1-D, got dim = {problem.dim}")
    ax = _axes(ax)
    grid = np.linspace(*xlim, resolution)
    ax.plot(
        grid, problem.values(grid[:, None]), color="black", lw=1.5, label="$f$"
    )
    for label, path in paths.items():
        path = np.asarray(path, dtype=float).ravel()
        values = problem.values(path[:, None])
        (line,) = ax.plot(path, values, "o-", lw=1, markersize=4, label=label)
        ax.plot(path[0], values[0], "s", color=line.get_color(), markersize=7)
        ax.plot(
            path[-1],
            values[-1],
            "*",
            color=line.get_color(),
            markersize=12,
            markeredgecolor="black",
        )
    ax.set(xlabel="$x$", ylabel="$f(x)$", xlim=xlim, title=title)
    return ax


def against_lr(
    lrs,
    curves: dict,
    marks: dict | None = None,
    ax=None,
    ylabel: str = "",
    title: str = "",
    log: bool = False,
):
    """Quantities measured at each learning rate (``curves``: label -> values,
    one per lr) against lr.

    ``marks`` (label -> lr) are drawn as labelled vertical dashed lines, e.g.
    {"2/L": 2 / L}. A label that starts with "theory" is drawn as a thin black
    line, the others with markers.
    """
    ax = _axes(ax)
    lrs = np.asarray(lrs, dtype=float)
    for label, values in curves.items():
        values = np.asarray(values, dtype=float)
        if values.shape != lrs.shape:
            raise ValueError(
                f"curves[{label!r}] must have one value per lr, "
                f"{lrs.shape}, got {values.shape}"
            )
        style = (
            dict(color="black", lw=1)
            if label.startswith("theory")
            else dict(marker="o", markersize=3, ls="none")
        )
        ax.plot(lrs, values, label=label, **style)
    # the line styles repeat when there are more marks than styles
    for (label, lr), style in zip(
        (marks or {}).items(),
        itertools.cycle(("--", ":", "-.", (0, (5, 1)))),
        strict=False,
    ):
        ax.axvline(lr, color="gray", ls=style, lw=1.3, label=label)
    if log:
        ax.set_yscale("log")
    return _labelled(ax, r"learning rate $\alpha$", ylabel, title)


def sweep_results(
    sweeps: dict,
    f_star: float = 0.0,
    marks: dict | None = None,
    ax=None,
    title: str = "",
    ylabel: str = "final $f - f^*$",
):
    """Learning-rate sweeps (label -> :class:`gdbook.sweeps.Sweep`): final
    f - f_star against lr, log-log.

    A diverged run is drawn as a cross (in its sweep's colour) at the top of
    the plot; ``marks`` (label -> lr) are vertical dashed lines, e.g. {"2/L":
    2 / L}.
    """
    ax = _axes(ax)
    top = (
        max(
            float(np.nanmax(s.final - f_star))
            for s in sweeps.values()
            if not np.all(s.diverged)
        )
        * 3
    )
    for label, sweep in sweeps.items():
        (line,) = ax.loglog(
            sweep.lrs,
            sweep.final - f_star,
            "o-",
            lw=1.5,
            markersize=4,
            label=label,
        )
        if np.any(sweep.diverged):
            ax.plot(
                sweep.lrs[sweep.diverged],
                np.full(int(sweep.diverged.sum()), top),
                "x",
                color=line.get_color(),
                markersize=9,
                mew=2.5,
                label=f"{label}: diverged",
            )
    for (label, lr), style in zip(
        (marks or {}).items(),
        itertools.cycle(("--", ":", "-.")),
        strict=False,
    ):
        ax.axvline(lr, color="gray", ls=style, lw=1.3, label=label)
    return _labelled(ax, r"learning rate $\alpha$", ylabel, title)


class OfflineAnimation(FuncAnimation):
    """A FuncAnimation whose ``to_jshtml()`` loads nothing from the network.

    Matplotlib's HTML player draws its buttons with Font Awesome from a CDN;
    here the style sheet link is dropped and each icon replaced by a Unicode
    symbol, so the page works offline and in the built book.
    """

    _ICONS = {
        "fa-minus": "&minus;",
        "fa-fast-backward": "&#x23EE;",
        "fa-step-backward": "&#x23F4;",
        "fa-play fa-flip-horizontal": "&#x25C0;",
        "fa-pause": "&#x23F8;",
        "fa-play": "&#x25B6;",
        "fa-step-forward": "&#x23F5;",
        "fa-fast-forward": "&#x23ED;",
        "fa-plus": "+",
    }

    def to_jshtml(self, *args, **kwargs) -> str:
        html = re.sub(
            r"""<link\s+rel="stylesheet"\s+href="(?:https?:)?//[^"]*">""",
            "",
            super().to_jshtml(*args, **kwargs),
        )
        return re.sub(
            r'<i class="fa ([^"]+)"></i>',
            lambda m: self._ICONS.get(m.group(1), "&#x25CF;"),
            html,
        )


def animate_trajectories(
    problem,
    paths: dict,
    xlim,
    ylim,
    frames: int | None = None,
    interval: int = 100,
    title: str = "",
    **contour_options,
) -> OfflineAnimation:
    """The trajectories of :func:`contour_with_trajectories` drawn step by
    step, as an animation.

    Frame k (k = 0 .. frames-1) shows the first ceil((k + 1) T / frames)
    iterates of every path, T the length of the longest, so the last frame
    shows the full paths; ``frames`` defaults to T (one iterate a frame).
    ``interval`` is the delay between frames in ms. The figure is closed (so a
    notebook shows no still copy); display the animation with
    ``IPython.display.HTML(anim.to_jshtml())``.
    """
    if not paths:
        raise ValueError("paths must hold at least one path")
    paths = {
        label: np.asarray(path, dtype=float) for label, path in paths.items()
    }
    for label, path in paths.items():
        if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
            raise ValueError(
                f"paths[{label!r}] must have shape (T, 2) with T >= 1, got "
                f"{path.shape}"
            )
    longest = max(len(path) for path in paths.values())
    frames = (
        longest
        if frames is None
        else _validate.integer("frames", frames, low=1)
    )
    interval = _validate.integer("interval", interval, low=1)
    ax = contour(problem, xlim, ylim, **contour_options)
    ax.set_title(title)
    _mark_minimiser(ax, problem)
    lines = {
        label: ax.plot([], [], "o-", markersize=3, lw=1.2, label=label)[0]
        for label in paths
    }
    heads = {
        label: ax.plot(
            [],
            [],
            "o",
            color=line.get_color(),
            markersize=8,
            markeredgecolor="black",
        )[0]
        for label, line in lines.items()
    }
    ax.legend(loc="best")
    stops = np.ceil(np.arange(1, frames + 1) * longest / frames).astype(int)

    def draw(k):
        for label, path in paths.items():
            shown = path[: stops[k]]
            lines[label].set_data(shown[:, 0], shown[:, 1])
            heads[label].set_data(shown[-1:, 0], shown[-1:, 1])

    plt.close(ax.figure)
    return OfflineAnimation(
        ax.figure, draw, frames=frames, interval=interval, blit=False
    )

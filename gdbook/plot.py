"""Matplotlib figures the book repeats: contours with trajectories, and measured curves against bounds."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def _axes(ax):
    return plt.subplots(figsize=(6, 4.5))[1] if ax is None else ax


def contour(problem, xlim=(-2.0, 2.0), ylim=(-1.0, 3.0), ax=None, levels: int = 30, log: bool = True,
            resolution: int = 200):
    """Filled contours of a 2-D ``problem`` over ``xlim`` x ``ylim``.

    With ``log`` the levels are spaced evenly in log10(f - f_min + floor), floor = 1e-6 (f_max - f_min) on
    the grid, which shows both the valley floor and the steep walls of functions such as Rosenbrock.
    """
    if problem.dim != 2:
        raise ValueError(f"problem must be 2-D for a contour plot, got dim = {problem.dim}")
    ax = _axes(ax)
    xs, ys = np.linspace(*xlim, resolution), np.linspace(*ylim, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    z = problem.values(np.column_stack([grid_x.ravel(), grid_y.ravel()])).reshape(grid_x.shape)
    if log:
        z = np.log10(z - z.min() + max(1e-6 * (z.max() - z.min()), 1e-12))
    filled = ax.contourf(grid_x, grid_y, z, levels=levels, cmap="viridis")
    ax.contour(grid_x, grid_y, z, levels=levels, colors="white", linewidths=0.3, alpha=0.5)
    ax.figure.colorbar(filled, ax=ax, label="log10(f - min f)" if log else "f")
    ax.set(xlabel="$x_1$", ylabel="$x_2$", xlim=xlim, ylim=ylim)
    return ax


def trajectories(paths: dict, ax=None, marker: str = "o", markersize: float = 3):
    """Draw each path (an array (T, 2) of iterates) with its label; the start is a square, the end a star."""
    ax = _axes(ax)
    for label, path in paths.items():
        path = np.asarray(path)
        (line,) = ax.plot(path[:, 0], path[:, 1], marker=marker, markersize=markersize, lw=1.2, label=label)
        ax.plot(*path[0], "s", color=line.get_color(), markersize=6)
        ax.plot(*path[-1], "*", color=line.get_color(), markersize=12, markeredgecolor="black")
    ax.legend(loc="best", fontsize=8)
    return ax


def contour_with_trajectories(problem, paths: dict, xlim, ylim, title: str = "", ax=None, markersize: float = 3,
                              **contour_options):
    """Contours of ``problem`` with optimizer trajectories on top; marks ``problem.x_star`` when known.

    ``contour_options`` go to :func:`contour` (levels, log, resolution).
    """
    ax = contour(problem, xlim, ylim, ax=ax, **contour_options)
    if getattr(problem, "x_star", None) is not None:
        ax.plot(*problem.x_star, "x", color="red", markersize=10, mew=2, label="$x^*$")
    trajectories(paths, ax=ax, markersize=markersize)
    ax.set_title(title)
    return ax


def against_bound(measured, bound, ax=None, t=None, ylabel: str = "$f(x_t) - f^*$", title: str = "",
                  measured_label: str = "measured", bound_label: str = "bound"):
    """A measured sequence and its theoretical bound on log-linear axes (the bound dashed)."""
    ax = _axes(ax)
    measured = np.asarray(measured, dtype=float)
    t = np.arange(len(measured)) if t is None else np.asarray(t)
    ax.semilogy(t, measured, lw=2, label=measured_label)
    ax.semilogy(t, np.broadcast_to(bound, t.shape), "--", color="black", lw=1.5, label=bound_label)
    ax.set(xlabel="iteration $t$", ylabel=ylabel, title=title)
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    return ax


def loss_curves(curves: dict, ax=None, xlabel: str = "iteration $t$", ylabel: str = "$f(x_t)$",
                title: str = "", log: bool = True):
    """One line per labelled curve (label -> sequence of values), log y axis by default."""
    ax = _axes(ax)
    for label, values in curves.items():
        ax.plot(np.arange(len(values)), values, lw=1.5, label=label)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    return ax

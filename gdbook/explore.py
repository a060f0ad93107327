"""Explorable figures: optimizer paths on contour lines, redrawn in the
browser when the reader moves a slider or picks from a list.

The notebook computes everything with gdbook (the contour lines and every
path for every setting); :func:`explorable_paths` writes it into one
self-contained HTML fragment, an SVG per panel plus a short inline script
that swaps the drawn paths. Nothing loads from the network and no kernel is
needed, so the figure works in the built book, offline, and in JupyterLab
(where the notebook must be trusted, as it is once you run it).
"""

from __future__ import annotations

import dataclasses
import html
import json
import re

import contourpy
import numpy as np

# Matplotlib's "tab10" colours, one per drawn series, in order.
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
)
PANEL_WIDTH = 360  # SVG units; the SVG scales to fit the page


@dataclasses.dataclass(frozen=True)
class Panel:
    """One plot: the contour lines of a 2-D ``problem`` over a window."""

    problem: object
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    title: str = ""
    levels: int = 12

    @property
    def height(self) -> float:
        """SVG height that keeps one unit of x and y the same length."""
        (x0, x1), (y0, y1) = self.xlim, self.ylim
        return PANEL_WIDTH * (y1 - y0) / (x1 - x0)


class Explorable:
    """An explorable figure; Jupyter displays it through its HTML."""

    def __init__(self, name, html_text, settings, panels):
        self.name, self.html, self.settings = name, html_text, settings
        self.panels = panels

    def _repr_html_(self):
        return self.html

    def __repr__(self):
        return (
            f"<explorable figure {self.name!r}: {len(self.settings)} "
            f"settings, {self.panels} panel(s)>"
        )


def _check_window(panel: Panel, index: int):
    for axis in ("xlim", "ylim"):
        low, high = getattr(panel, axis)
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(
                f"panels[{index}].{axis} must be finite with low < high, "
                f"got {(low, high)}"
            )
    if getattr(panel.problem, "dim", None) != 2:
        raise ValueError(f"panels[{index}].problem must be 2-D")


def _to_svg(panel: Panel):
    """The affine map from problem coordinates to the panel's SVG units."""
    (x0, x1), (y0, y1) = panel.xlim, panel.ylim

    def transform(points):
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        u = (points[:, 0] - x0) / (x1 - x0) * PANEL_WIDTH
        v = (y1 - points[:, 1]) / (y1 - y0) * panel.height
        return np.column_stack([u, v])

    return transform


def _path_data(svg_points) -> str:
    """SVG path data through the points, at 0.1 unit precision."""
    return "M" + " L".join(f"{u:.1f},{v:.1f}" for u, v in svg_points)


def contour_paths(panel: Panel, resolution: int = 120) -> list[str]:
    """SVG path data of the contour lines of ``panel.problem``.

    The levels are spaced evenly in log10(f - f_min + floor) over the grid,
    floor = 1e-6 (f_max - f_min), as in :func:`gdbook.plot.contour`.
    """
    xs = np.linspace(*panel.xlim, resolution)
    ys = np.linspace(*panel.ylim, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    z = panel.problem.values(points).reshape(grid_x.shape)
    z = np.log10(z - z.min() + max(1e-6 * (z.max() - z.min()), 1e-12))
    generator = contourpy.contour_generator(grid_x, grid_y, z)
    transform = _to_svg(panel)
    levels = np.linspace(z.min(), z.max(), panel.levels + 2)[1:-1]
    return [
        _path_data(transform(line))
        for level in levels
        for line in generator.lines(level)
        if len(line) > 1
    ]


def _visible(path, panel: Panel) -> np.ndarray:
    """The path up to its first non-finite iterate, clamped far outside
    the window (a diverging path runs off the panel, not off to 1e300)."""
    path = np.asarray(path, dtype=float).reshape(-1, 2)
    finite = np.all(np.isfinite(path), axis=1)
    if not finite.all():
        path = path[: np.argmin(finite)]
    span = max(panel.xlim[1] - panel.xlim[0], panel.ylim[1] - panel.ylim[0])
    low = min(panel.xlim[0], panel.ylim[0]) - 10 * span
    high = max(panel.xlim[1], panel.ylim[1]) + 10 * span
    return np.clip(path, low, high)


_NAME = re.compile(r"^[a-z][a-z0-9-]*$")

_SCRIPT = """
(function () {
  const root = document.getElementById(%(id)s);
  const data = JSON.parse(root.querySelector('script.data').textContent);
  const control = root.querySelector('.control');
  const shown = root.querySelector('.setting');
  function draw() {
    const k = Number(control.value);
    shown.textContent = data.labels[k];
    root.querySelectorAll('svg').forEach(function (svg, p) {
      svg.querySelectorAll('g.paths path').forEach(function (el, s) {
        el.setAttribute('d', data.frames[k][p][s] || 'M0,0');
        el.style.display = data.frames[k][p][s] ? '' : 'none';
      });
    });
  }
  control.addEventListener('input', draw);
  control.addEventListener('change', draw);
  draw();
})();
"""


def _control(kind: str, labels: list[str], label: str) -> str:
    if kind == "slider":
        widget = (
            f'<input class="control" type="range" min="0" '
            f'max="{len(labels) - 1}" step="1" value="0" '
            f'aria-label="{html.escape(label)}">'
        )
    else:
        options = "".join(
            f'<option value="{k}">{html.escape(text)}</option>'
            for k, text in enumerate(labels)
        )
        widget = (
            f'<select class="control" aria-label="{html.escape(label)}">'
            f"{options}</select>"
        )
    return (
        f'<label style="display:flex;gap:0.6em;align-items:center;'
        f'flex-wrap:wrap">{html.escape(label)} {widget}'
        f'<output class="setting" style="font-weight:bold"></output>'
        f"</label>"
    )


def _panel_svg(panel, contours, series, alt, element_id) -> str:
    """One panel: frame, title, contour lines, and an empty path per
    series (the script fills them), each ending in a dot."""
    width, height = PANEL_WIDTH, round(panel.height, 1)
    lines = "".join(f'<path d="{d}"/>' for d in contours)
    colours = [COLOURS[s % len(COLOURS)] for s in range(len(series))]
    markers = "".join(
        f'<marker id="{element_id}-dot-{s}" viewBox="0 0 4 4" refX="2" '
        f'refY="2" markerWidth="4" markerHeight="4">'
        f'<circle cx="2" cy="2" r="2" fill="{colour}"/></marker>'
        for s, colour in enumerate(colours)
    )
    paths = "".join(
        f'<path stroke="{colour}" d="M0,0" '
        f'marker-end="url(#{element_id}-dot-{s})"/>'
        for s, colour in enumerate(colours)
    )
    title = (
        f'<text x="{width / 2}" y="-6" text-anchor="middle" '
        f'font-size="13">{html.escape(panel.title)}</text>'
        if panel.title
        else ""
    )
    clip = f"{element_id}-clip"
    return (
        f'<svg viewBox="0 -20 {width} {height + 20}" role="img" '
        f'aria-label="{html.escape(alt)}" '
        f'style="flex:1 1 300px;max-width:{width * 2}px;height:auto">'
        f'<defs><clipPath id="{clip}"><rect width="{width}" '
        f'height="{height}"/></clipPath>{markers}</defs>{title}'
        f'<rect width="{width}" height="{height}" fill="#fbfbfb" '
        f'stroke="#999"/>'
        f'<g clip-path="url(#{clip})">'
        f'<g fill="none" stroke="#bbb" stroke-width="0.8">{lines}</g>'
        f'<g class="paths" fill="none" stroke-width="1.8">{paths}</g>'
        f"</g></svg>"
    )


def explorable_paths(
    name: str,
    panels: list[Panel],
    settings: dict[str, list[dict[str, np.ndarray]]],
    *,
    control: str,
    label: str,
    caption: str,
    alt: str,
) -> Explorable:
    """An explorable figure of optimizer paths on contour lines.

    ``settings`` maps the text of each setting (what the reader picks, e.g.
    "alpha = 0.30") to one dict per panel, series name -> path (an array
    (T, 2) of iterates). Every setting draws the same series names in the
    same order. ``control`` is "slider" (ordered settings) or "select" (a
    list). ``name`` (lower case, digits, hyphens) makes the HTML id.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            "name must be lower-case letters, digits and hyphens, "
            f"got {name!r}"
        )
    if control not in ("slider", "select"):
        raise ValueError(
            f"control must be 'slider' or 'select', got {control!r}"
        )
    if not panels:
        raise ValueError("panels must hold at least one Panel")
    for index, panel in enumerate(panels):
        _check_window(panel, index)
    if not settings:
        raise ValueError("settings must hold at least one setting")
    series = [list(per_panel) for per_panel in next(iter(settings.values()))]
    for text, per_panel in settings.items():
        if len(per_panel) != len(panels):
            raise ValueError(
                f"settings[{text!r}] must give one dict per panel "
                f"({len(panels)}), got {len(per_panel)}"
            )
        if [list(d) for d in per_panel] != series:
            raise ValueError(
                f"settings[{text!r}] must draw the series {series}, "
                f"got {[list(d) for d in per_panel]}"
            )
    frames = [
        [
            [
                _path_data(_to_svg(panel)(_visible(path, panel)))
                for path in per_panel[p].values()
            ]
            for p, panel in enumerate(panels)
        ]
        for per_panel in settings.values()
    ]
    data = {"labels": list(settings), "frames": frames}
    names = dict.fromkeys(name for names in series for name in names)
    legend = "".join(
        f'<span style="margin-right:1.2em;white-space:nowrap">'
        f'<span style="display:inline-block;width:1.6em;height:0.25em;'
        f"vertical-align:middle;margin-right:0.3em;"
        f'background:{COLOURS[s % len(COLOURS)]}"></span>'
        f"{html.escape(n)}</span>"
        for s, n in enumerate(names)
    )
    element_id = f"gdbook-explore-{name}"
    svgs = "".join(
        _panel_svg(
            panel, contour_paths(panel), series[p], alt, f"{element_id}-{p}"
        )
        for p, panel in enumerate(panels)
    )
    fragment = (
        f'<figure class="gdbook-explore" id="{element_id}" '
        f'style="margin:1em 0">'
        f'<script type="application/json" class="data">'
        f"{json.dumps(data, separators=(',', ':'))}</script>"
        f"{_control(control, list(settings), label)}"
        f'<div style="display:flex;flex-wrap:wrap;gap:8px">{svgs}</div>'
        f'<div style="font-size:0.9em">{legend}</div>'
        f"<figcaption>{html.escape(caption)}</figcaption>"
        f"<script>{_SCRIPT % {'id': json.dumps(element_id)}}</script>"
        f"</figure>"
    )
    return Explorable(name, fragment, list(settings), len(panels))

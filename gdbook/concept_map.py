"""The map of the book's core concepts: which idea feeds which, drawn with
matplotlib so it renders offline.

A map is a tuple of :class:`Concept` (boxes) and a tuple of :class:`Link`
(labelled arrows). ``CONCEPTS`` and ``LINKS`` are the map of chapter 2: the
loss defines the gradient; the gradient, the learning rate (bounded by the
curvature L: stable only for lr < 2/L), momentum and adaptive step sizes make
the update; the update gives a new point, where the loss is evaluated again.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

__all__ = [
    "Concept",
    "Link",
    "GROUPS",
    "CONCEPTS",
    "LINKS",
    "validate",
    "reachable",
    "describe",
    "draw",
]


@dataclass(frozen=True)
class Concept:
    """A box: ``key`` names it in links, ``label`` is its text, ``xy`` its
    centre, ``group`` its colour."""

    key: str
    label: str
    xy: tuple[float, float]
    group: str


@dataclass(frozen=True)
class Link:
    """An arrow from concept ``source`` to concept ``target`` labelled
    ``label``.

    ``bend`` curves it (matplotlib's arc3 ``rad``); the label sits at
    ``label_pos`` along the curve (0 to 1).
    """

    source: str
    target: str
    label: str
    bend: float = 0.0
    label_pos: float = 0.5


GROUPS = {
    "objective": "#cfe2f3",
    "first-order information": "#fce5cd",
    "step": "#f4cccc",
    "refinements of the step": "#d9ead3",
}

CONCEPTS = (
    Concept(
        "data",
        "data and model\n$(a_i, y_i)$, prediction",
        (1.5, 5.0),
        "objective",
    ),
    Concept("loss", "loss\n$f(x)$", (6.5, 5.0), "objective"),
    Concept(
        "gradient",
        "gradient\n$\\nabla f(x)$",
        (11.5, 5.0),
        "first-order information",
    ),
    Concept(
        "momentum",
        "momentum\n$v \\leftarrow \\beta v + \\nabla f$",
        (16.5, 5.0),
        "refinements of the step",
    ),
    Concept(
        "curvature", "curvature\n$L$ (smoothness)", (1.5, 1.0), "objective"
    ),
    Concept("lr", "learning rate\n$\\alpha$", (6.5, 1.0), "step"),
    Concept(
        "adaptive",
        "adaptive step sizes\n$s \\leftarrow \\rho s + (1-\\rho)\\, g^2$",
        (11.5, 1.0),
        "refinements of the step",
    ),
    Concept(
        "update",
        "update\n$x \\leftarrow x - \\alpha\\, d$",
        (16.5, 1.0),
        "step",
    ),
)

LINKS = (
    Link("data", "loss", "defines"),
    Link("loss", "gradient", "differentiate"),
    Link("loss", "curvature", "second derivative\nat most $L$"),
    Link("curvature", "lr", "stable only\nif $\\alpha < 2/L$"),
    Link("gradient", "momentum", "averaged\nover steps"),
    Link("gradient", "update", "plain GD:\n$d = \\nabla f$", label_pos=0.3),
    Link("gradient", "adaptive", "squared, per\ncoordinate", label_pos=0.25),
    Link("momentum", "update", "$d = v$"),
    Link("adaptive", "update", "$\\alpha_i = \\alpha / \\sqrt{s_i}$"),
    Link("lr", "adaptive", "scaled per\ncoordinate"),
    Link("lr", "update", "step length", bend=0.3),
    Link("update", "loss", "new $x$: repeat", label_pos=0.62),
)


def validate(concepts=CONCEPTS, links=LINKS) -> dict[str, Concept]:
    """Check that keys are unique and every link joins two known concepts;
    return the concepts by key."""
    by_key = {}
    for concept in concepts:
        if concept.key in by_key:
            raise ValueError(
                f"concepts must have unique keys, {concept.key!r} appears "
                "twice"
            )
        by_key[concept.key] = concept
    for link in links:
        for end in (link.source, link.target):
            if end not in by_key:
                raise ValueError(
                    f"links must join known concepts; {end!r} is not one of "
                    f"{sorted(by_key)}"
                )
        if link.source == link.target:
            raise ValueError(
                "links must join two different concepts, got a loop on "
                f"{link.source!r}"
            )
    return by_key


def reachable(source: str, links=LINKS) -> set[str]:
    """The concepts that can be reached from ``source`` by following links (not
    including ``source`` unless a cycle leads back to it)."""
    found, frontier = set(), [source]
    while frontier:
        node = frontier.pop()
        for link in links:
            if link.source == node and link.target not in found:
                found.add(link.target)
                frontier.append(link.target)
    return found


def describe(concepts=CONCEPTS, links=LINKS) -> list[str]:
    """One line per link, 'source --label--> target', with the boxes' first
    lines as names."""
    by_key = validate(concepts, links)
    name = {key: c.label.splitlines()[0] for key, c in by_key.items()}
    return [
        f"{name[k.source]} --{' '.join(k.label.split())}--> {name[k.target]}"
        for k in links
    ]


def _on_curve(start, end, bend, t):
    """The point at parameter t of matplotlib's arc3 curve: a quadratic Bezier
    whose control point lies ``bend`` times |end - start| off the middle of the
    chord."""
    dx, dy = end - start
    control = (start + end) / 2 + bend * np.array([dy, -dx])
    return (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end


def draw(
    concepts=CONCEPTS,
    links=LINKS,
    ax=None,
    title: str = "",
    box_size=(3.0, 1.1),
):
    """Draw the map: one rounded box per concept, one labelled arrow per link,
    a legend of the groups."""
    by_key = validate(concepts, links)
    if ax is None:
        ax = plt.subplots(figsize=(12.5, 5.9))[1]
    width, height = box_size
    boxes = {}
    for c in concepts:
        box = FancyBboxPatch(
            (c.xy[0] - width / 2, c.xy[1] - height / 2),
            width,
            height,
            boxstyle="round,pad=0.08",
            facecolor=GROUPS.get(c.group, "white"),
            edgecolor="black",
            linewidth=1.2,
            zorder=2,
        )
        ax.add_patch(box)
        ax.text(
            *c.xy, c.label, ha="center", va="center", fontsize=10, zorder=3
        )
        boxes[c.key] = box
    label_points = []
    for link in links:
        start, end = (
            np.array(by_key[link.source].xy),
            np.array(by_key[link.target].xy),
        )
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                patchA=boxes[link.source],
                patchB=boxes[link.target],
                arrowstyle="-|>",
                mutation_scale=16,
                linewidth=1.3,
                shrinkA=2,
                shrinkB=2,
                connectionstyle=f"arc3,rad={link.bend}",
                color="0.2",
                zorder=1,
            )
        )
        label_points.append(_on_curve(start, end, link.bend, link.label_pos))
        ax.text(
            *label_points[-1],
            link.label,
            ha="center",
            va="center",
            fontsize=9,
            style="italic",
            zorder=4,
            bbox=dict(
                boxstyle="round,pad=0.15",
                facecolor="white",
                edgecolor="none",
                alpha=0.9,
            ),
        )
    corners = np.array([c.xy for c in concepts] + label_points)
    ax.set(
        xlim=(
            corners[:, 0].min() - width / 2 - 0.3,
            corners[:, 0].max() + width / 2 + 0.3,
        ),
        ylim=(
            corners[:, 1].min() - height,
            corners[:, 1].max() + height / 2 + 0.3,
        ),
    )
    ax.set_aspect("equal")
    ax.axis("off")
    used = dict.fromkeys(c.group for c in concepts)
    ax.legend(
        handles=[
            Patch(facecolor=GROUPS.get(g, "white"), edgecolor="black", label=g)
            for g in used
        ],
        loc="lower center",
        ncol=len(used),
        fontsize=9,
        frameon=False,
        bbox_to_anchor=(0.5, -0.02),
    )
    ax.set_title(title)
    return ax

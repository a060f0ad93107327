"""gdbook.plot.animate_trajectories: the frames, the last frame, and an HTML
player that works offline."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from check_offline_html import external_loads  # noqa: E402

from gdbook import plot  # noqa: E402
from gdbook.problems import Himmelblau, Quadratic  # noqa: E402

PROBLEM = Quadratic(np.diag([1.0, 4.0]))
PATHS = {
    "GD": np.array(
        [[2.0, 1.0], [1.5, 0.2], [1.0, 0.1], [0.6, 0.0], [0.3, 0.0]]
    ),
    "short": np.array([[-2.0, -1.0], [-1.0, -0.5]]),
}


def teardown_function():
    plt.close("all")


def _lines(anim):
    """The data of each labelled line; matplotlib keeps the animated figure as
    _fig and the frame function as _func."""
    ax = anim._fig.axes[0]
    return {line.get_label(): line.get_xydata() for line in ax.get_lines()}


@pytest.mark.parametrize("frames", [None, 2, 3])
def test_frames_grow_each_path_and_the_last_frame_shows_it_whole(frames):
    anim = plot.animate_trajectories(
        PROBLEM,
        PATHS,
        xlim=(-3, 3),
        ylim=(-2, 2),
        frames=frames,
        interval=50,
        resolution=20,
    )
    count = frames or 5
    # frame 0 shows the first ceil(5 / count) iterates of each path (at most
    # all of it)
    anim._func(0)
    lines = _lines(anim)
    for label, path in PATHS.items():
        np.testing.assert_array_equal(lines[label], path[: -(-5 // count)])
    html = (
        anim.to_jshtml()
    )  # draws every frame, leaving the last one on the figure
    assert html.count("data:image/png;base64") == count
    lines = _lines(anim)
    for label, path in PATHS.items():
        np.testing.assert_array_equal(lines[label], path)
    np.testing.assert_array_equal(lines["$x^*$"], [[0.0, 0.0]])
    assert not plt.get_fignums(), (
        "the figure should be closed so that a notebook shows no still copy"
    )


def test_html_player_loads_nothing_from_the_network():
    anim = plot.animate_trajectories(
        Himmelblau(),
        {"a": PATHS["GD"]},
        xlim=(-3, 3),
        ylim=(-2, 2),
        resolution=20,
    )
    html = anim.to_jshtml()
    assert external_loads(html) == []
    assert "http://" not in html and "https://" not in html
    assert (
        'class="fa ' not in html and "&#x25B6;" in html
    )  # icons are Unicode symbols, not a web font
    assert "anim" in html and "<script" in html


@pytest.mark.parametrize(
    "paths, options, match",
    [
        ({}, {}, "paths must hold at least one path"),
        (
            {"a": np.zeros((3, 3))},
            {},
            r"paths\['a'\] must have shape \(T, 2\)",
        ),
        ({"a": np.zeros((0, 2))}, {}, r"paths\['a'\] must have shape"),
        (PATHS, {"frames": 0}, "frames must be >= 1"),
        (PATHS, {"interval": 0}, "interval must be >= 1"),
    ],
)
def test_bad_arguments_are_named(paths, options, match):
    with pytest.raises(ValueError, match=match):
        plot.animate_trajectories(
            PROBLEM,
            paths,
            xlim=(-3, 3),
            ylim=(-2, 2),
            resolution=20,
            **options,
        )

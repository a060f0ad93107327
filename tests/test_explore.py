"""gdbook.explore: explorable figures as self-contained HTML fragments."""

import json
import re

import numpy as np
import pytest

from gdbook.explore import Panel, contour_paths, explorable_paths
from gdbook.problems import Quadratic

BOWL = Quadratic(np.diag([4.0, 0.25]))
WINDOW = Panel(BOWL, (-2.0, 2.0), (-1.0, 3.0), title="valley")


def paths_for(lr, steps=5):
    x = np.array([-1.5, 2.5])
    path = [x]
    for _ in range(steps):
        x = x - lr * BOWL.grad(x)
        path.append(x)
    return np.array(path)


def figure(**overrides):
    arguments = dict(
        name="valley",
        panels=[WINDOW],
        settings={f"lr {lr}": [{"GD": paths_for(lr)}] for lr in (0.1, 0.4)},
        control="slider",
        label="step size",
        caption="Gradient descent on a valley.",
        alt="Zig-zag paths on elliptic contours.",
    )
    arguments.update(overrides)
    return explorable_paths(**arguments)


def data_of(fragment):
    text = re.search(
        r'<script type="application/json" class="data">(.*?)</script>',
        fragment,
    ).group(1)
    return json.loads(text)


def test_fragment_carries_every_setting_and_the_drawing_script():
    fig = figure()
    data = data_of(fig.html)
    assert data["labels"] == ["lr 0.1", "lr 0.4"]
    assert len(data["frames"]) == 2 and len(data["frames"][0]) == 1
    assert data["frames"][0][0][0] != data["frames"][1][0][0]
    assert fig.html.count('class="paths"') == 1
    assert 'type="range"' in fig.html and 'max="1"' in fig.html
    assert "<figcaption>Gradient descent on a valley.</figcaption>" in fig.html
    assert 'aria-label="Zig-zag paths on elliptic contours."' in fig.html
    assert fig._repr_html_() == fig.html
    assert repr(fig) == (
        "<explorable figure 'valley': 2 settings, 1 panel(s)>"
    )


def test_fragment_loads_nothing_from_the_network_and_is_deterministic():
    html = figure().html
    assert not re.search(r"(src|href)=", html.replace('href="#', ""))
    assert "http" not in html.replace("http://www.w3.org", "")
    assert figure().html == html


def test_problem_coordinates_map_to_the_panel_with_y_up():
    fig = figure(settings={"corners": [{"GD": [[-2.0, 3.0], [2.0, -1.0]]}]})
    # window (-2, 2) x (-1, 3) on a 360-unit-wide, equal-aspect panel
    assert data_of(fig.html)["frames"][0][0][0] == "M0.0,0.0 L360.0,360.0"


def test_a_diverging_path_stops_at_its_first_non_finite_iterate():
    path = [[0.0, 0.0], [1e300, 0.0], [np.inf, 0.0], [0.0, 0.0]]
    fig = figure(settings={"diverged": [{"GD": path}]})
    points = data_of(fig.html)["frames"][0][0][0].split(" L")
    assert len(points) == 2
    # the huge iterate is clamped to 10 window spans (4) past the window:
    # x = 3 + 40 = 43, at (43 + 2) / 4 * 360 SVG units
    assert float(points[1].split(",")[0]) == pytest.approx(4050.0)


def test_select_control_lists_the_settings():
    fig = figure(control="select")
    assert fig.html.count("<option") == 2 and 'type="range"' not in fig.html


def test_contour_lines_follow_level_sets():
    lines = contour_paths(WINDOW)
    assert len(lines) >= WINDOW.levels
    # every point of the longest line has one value of f (a level set)
    longest = max(lines, key=len)[1:].split(" L")
    u, v = np.array([p.split(",") for p in longest], dtype=float).T
    x = np.column_stack([u / 360 * 4 - 2, 3 - v / 360 * 4])
    values = BOWL.values(x)
    assert np.ptp(values) < 0.05 * values.mean()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "Has Space"}, "name must be lower-case"),
        ({"control": "knob"}, "control must be 'slider' or 'select'"),
        ({"panels": []}, "panels must hold at least one Panel"),
        ({"settings": {}}, "settings must hold at least one setting"),
        (
            {"panels": [Panel(BOWL, (1.0, 1.0), (0.0, 1.0))]},
            r"panels\[0\].xlim must be finite with low < high",
        ),
        (
            {"panels": [Panel(Quadratic(np.eye(3)), (0, 1), (0, 1))]},
            r"panels\[0\].problem must be 2-D",
        ),
        (
            {"settings": {"a": [{"GD": [[0, 0]]}], "b": [{"SGD": [[0, 0]]}]}},
            r"settings\['b'\] must draw the series \[\['GD'\]\]",
        ),
        (
            {"settings": {"a": [{"GD": [[0, 0]]}, {"GD": [[0, 0]]}]}},
            r"settings\['a'\] must give one dict per panel \(1\), got 2",
        ),
    ],
)
def test_bad_input_is_refused_with_the_argument_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        figure(**overrides)

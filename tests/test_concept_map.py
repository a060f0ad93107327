"""gdbook.concept_map: the map is consistent, says what the chapter says, and
draws every box and arrow."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from gdbook import concept_map as cm  # noqa: E402


def teardown_function():
    plt.close("all")


def test_the_book_map_is_valid_and_every_concept_feeds_the_update():
    by_key = cm.validate()
    assert set(by_key) == {
        "data",
        "loss",
        "gradient",
        "curvature",
        "lr",
        "momentum",
        "adaptive",
        "update",
    }
    for key in by_key:
        if key != "update":
            assert "update" in cm.reachable(key), (
                f"{key} does not lead to the update"
            )
    assert "loss" in cm.reachable("update") and "update" in cm.reachable(
        "update"
    ), "the method must loop"


def test_reachable_follows_direction():
    links = (cm.Link("a", "b", ""), cm.Link("b", "c", ""))
    assert cm.reachable("a", links) == {"b", "c"}
    assert cm.reachable("c", links) == set()


def test_describe_lists_each_link_once():
    lines = cm.describe()
    assert len(lines) == len(cm.LINKS)
    assert (
        "curvature --stable only if $\\alpha < 2/L$--> learning rate" in lines
    )


@pytest.mark.parametrize(
    "links, match",
    [
        ((cm.Link("loss", "nowhere", ""),), "nowhere"),
        ((cm.Link("loss", "loss", ""),), "different"),
    ],
)
def test_validate_rejects_bad_links(links, match):
    with pytest.raises(ValueError, match=match):
        cm.validate(cm.CONCEPTS, links)


def test_validate_rejects_duplicate_keys():
    with pytest.raises(ValueError, match="unique"):
        cm.validate(cm.CONCEPTS + (cm.CONCEPTS[0],), ())


def test_draw_makes_one_box_and_one_arrow_each_with_its_label():
    ax = cm.draw(title="map")
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(boxes) == len(cm.CONCEPTS) and len(arrows) == len(cm.LINKS)
    texts = {t.get_text() for t in ax.texts}
    assert {c.label for c in cm.CONCEPTS} <= texts and {
        k.label for k in cm.LINKS
    } <= texts
    assert ax.get_title() == "map"
    position = {t.get_text(): np.array(t.get_position()) for t in ax.texts}
    xy = {c.key: np.array(c.xy) for c in cm.CONCEPTS}
    for link in cm.LINKS:
        np.testing.assert_allclose(
            position[link.label],
            cm._on_curve(
                xy[link.source], xy[link.target], link.bend, link.label_pos
            ),
        )


def test_draw_keeps_every_box_and_label_inside_the_axes():
    ax = cm.draw()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    for text in ax.texts:
        x, y = text.get_position()
        assert x0 < x < x1 and y0 < y < y1, text.get_text()


def test_labels_sit_on_the_arc3_curve():
    start, end = np.array([0.0, 0.0]), np.array([2.0, 0.0])
    np.testing.assert_allclose(cm._on_curve(start, end, 0.0, 0.5), [1.0, 0.0])
    # arc3 puts the control point rad * |chord| off the middle, so the curve's
    # midpoint is half of that
    np.testing.assert_allclose(cm._on_curve(start, end, 0.5, 0.5), [1.0, -0.5])
    np.testing.assert_allclose(cm._on_curve(start, end, 0.5, 1.0), end)

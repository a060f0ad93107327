"""The built book loads no script, style or image from the network (checked
when _build/html exists)."""

import pathlib

import pytest
from check_offline_html import check_tree, external_loads

BUILD = pathlib.Path(__file__).resolve().parents[1] / "_build" / "html"


def test_checker_finds_external_scripts_styles_and_images():
    html = """
    <script src="https://cdn.example.org/mathjax.js"></script>
    <script src="_static/local.js"></script>
    <link rel="stylesheet" href="//fonts.example.org/font.css">
    <link rel="canonical" href="https://example.org/page.html">
    <img alt="x" src="http://example.org/a.png">
    <a href="https://example.org/paper.pdf">a link is not a load</a>
    <style>@import url(https://example.org/x.css);</style>
    <script>const THEBE_JS_URL = "https://unpkg.com/thebe@0.8.2/lib/index.js"</script>
    """
    assert external_loads(html) == [
        "https://cdn.example.org/mathjax.js",
        "//fonts.example.org/font.css",
        "http://example.org/a.png",
        "https://example.org/x.css",
        "https://unpkg.com/thebe@0.8.2/lib/index.js",
    ]


@pytest.mark.skipif(
    not (BUILD / "index.html").exists(),
    reason="book not built (run jupyter-book build .)",
)
def test_built_book_loads_only_local_resources():
    assert check_tree(BUILD) == {}
    assert (BUILD / "_static" / "mathjax" / "tex-chtml.js").exists()

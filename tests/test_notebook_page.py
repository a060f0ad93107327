"""The committed notebooks are laid out for the page (NOTEBOOKS.md, "Figures"
and "Code on the page"): every figure is a 2x PNG no wider than the text
column, numbered and captioned with alt text; printed lines fit 79 columns.
"""

import base64
import io
import json
import pathlib
import struct

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
COLUMNS = 79
MIN_DPI = 190  # 2x the 96 px per inch of a standard screen, less rounding
MAX_WIDTH_IN = 7.6  # the text column holds 7 in at full size


def png_size_and_dpi(data: bytes) -> tuple[int, int, float]:
    """Width and height in pixels, and the dots per inch of a PNG's pHYs.

    The dpi is 0 when the file has no pHYs chunk (matplotlib always writes
    one). PNG layout: 8-byte signature, then chunks of length, type, data.
    """
    stream = io.BytesIO(data)
    if stream.read(8) != b"\x89PNG\r\n\x1a\n":
        raise ValueError("data: not a PNG file")
    width = height = 0
    dpi = 0.0
    while header := stream.read(8):
        length, kind = struct.unpack(">I4s", header)
        body = stream.read(length)
        stream.read(4)  # CRC
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"pHYs":
            per_x, _, unit = struct.unpack(">IIB", body)
            dpi = per_x * 0.0254 if unit == 1 else 0.0
        elif kind == b"IDAT":
            break
    return width, height, dpi


def figure_cells(path):
    cells = json.loads(path.read_text())["cells"]
    return [
        (i, cell)
        for i, cell in enumerate(c for c in cells if c["cell_type"] == "code")
        if any("image/png" in o.get("data", {}) for o in cell["outputs"])
    ]


def pngs(cell):
    for output in cell["outputs"]:
        if "image/png" in output.get("data", {}):
            yield base64.b64decode(output["data"]["image/png"])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_every_figure_is_2x_and_fits_the_column(path):
    bad = []
    for i, cell in figure_cells(path):
        for png in pngs(cell):
            width, _, dpi = png_size_and_dpi(png)
            if dpi < MIN_DPI or width / dpi > MAX_WIDTH_IN:
                bad.append(f"cell {i}: {width} px at {dpi:.0f} dpi")
    assert bad == []


PALETTE = 3  # PNG colour type of an indexed-colour image (IHDR byte 25)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_every_figure_is_a_compact_png(path):
    """As plot.use_book_style() shows a figure (plot.compact_png): 256
    colours, a third of the bytes, so a page with its figures stays light."""
    bad = [
        f"cell {i}"
        for i, cell in figure_cells(path)
        for png in pngs(cell)
        if png[25] != PALETTE
    ]
    assert bad == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_every_figure_has_a_caption_a_name_and_alt_text(path):
    bad = []
    for i, cell in figure_cells(path):
        meta = cell["metadata"].get("mystnb", {})
        figure, image = meta.get("figure", {}), meta.get("image", {})
        alt = image.get("alt", "")
        if len(figure.get("caption", "")) < 20 or not figure.get("name"):
            bad.append(f"cell {i}: no caption or no name")
        if len(alt) < 20 or alt.endswith((".png", ".svg")):
            bad.append(f"cell {i}: alt text missing or a file name")
    assert bad == []


def test_figure_names_are_unique_across_the_book():
    names = [
        cell["metadata"]["mystnb"]["figure"]["name"]
        for path in CHAPTERS
        for _, cell in figure_cells(path)
        if "name" in cell["metadata"].get("mystnb", {}).get("figure", {})
    ]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_printed_lines_fit_79_columns(path):
    long = []
    cells = [c for c in json.loads(path.read_text())["cells"]]
    code = [c for c in cells if c["cell_type"] == "code"]
    for i, cell in enumerate(code):
        for output in cell["outputs"]:
            text = "".join(output.get("text", []))
            text += "".join(output.get("data", {}).get("text/plain", []))
            long += [
                f"cell {i}: {line[:40]}..."
                for line in text.splitlines()
                if len(line) > COLUMNS
            ]
    assert long == []


def test_png_reader_reads_size_and_dpi():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2.0, 1.0), dpi=150)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150)
    plt.close(fig)
    width, height, dpi = png_size_and_dpi(buffer.getvalue())
    assert (width, height) == (300, 150)
    assert dpi == pytest.approx(150, abs=0.5)
    with pytest.raises(ValueError, match="data: not a PNG"):
        png_size_and_dpi(b"GIF89a")

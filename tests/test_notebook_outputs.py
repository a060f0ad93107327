"""The committed notebook outputs follow the portability rules, so strict nbval
passes on any CPU.

Round-off digits (a relative error of 7.4e-17) change with the BLAS kernel, the
thread count and torch's CPU path; a chapter prints the claim it asserts
instead ("below 1e-13"). Lax mode (`pytest book --nbval-lax`) compares only the
cells tagged `nbval-check-output`: each chapter tags its key results.
"""

import configparser
import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"

# A number below 1e-12 printed with its digits (7.4e-17, 2e-16); a bare power
# of ten (1e-13) is a threshold.
ROUND_OFF_DIGITS = re.compile(r"\b(\d\.\d+|[2-9])e-(1[3-9]|[2-9]\d)\b")


def code_cells(path: pathlib.Path) -> list[dict]:
    """The code cells of a notebook, in order (nbval numbers them the same
    way)."""
    return [
        cell
        for cell in json.loads(path.read_text())["cells"]
        if cell["cell_type"] == "code"
    ]


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def printed_text(cell: dict) -> str:
    """What strict nbval compares of a cell, as text: its streams and
    text/plain results."""
    return "".join(
        "".join(output.get("text", []))
        + "".join(output.get("data", {}).get("text/plain", []))
        for output in cell.get("outputs", [])
    )


def round_off_lines(cells: list[dict]) -> list[str]:
    """'cell N: line' for each compared output line that prints round-off
    digits."""
    return [
        f"cell {i}: {line}"
        for i, cell in enumerate(cells)
        if "nbval-ignore-output" not in tags(cell)
        for line in printed_text(cell).splitlines()
        if ROUND_OFF_DIGITS.search(line)
    ]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_compared_outputs_print_no_round_off_digits(path):
    assert round_off_lines(code_cells(path)) == []


def test_round_off_check_flags_digits_but_not_thresholds():
    cell = {
        "cell_type": "code",
        "metadata": {},
        "outputs": [
            {
                "output_type": "stream",
                "text": [
                    "autograd: relative error 7.4e-17\n",
                    "below 1e-13\n",
                    "gap 2e-16\n",
                    "f - f* = 2.6e-02\n",
                ],
            }
        ],
    }
    assert round_off_lines([cell]) == [
        "cell 0: autograd: relative error 7.4e-17",
        "cell 0: gap 2e-16",
    ]
    cell["metadata"]["tags"] = ["nbval-ignore-output"]
    assert round_off_lines([cell]) == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_each_chapter_tags_at_least_three_key_results_for_lax_mode(path):
    checked = {
        i: cell
        for i, cell in enumerate(code_cells(path))
        if "nbval-check-output" in tags(cell)
    }
    assert len(checked) >= 3, (
        f"only cells {sorted(checked)} are tagged nbval-check-output"
    )
    for i, cell in checked.items():
        assert printed_text(cell).strip(), (
            f"cell {i} is tagged nbval-check-output but prints nothing"
        )
        assert "nbval-ignore-output" not in tags(cell), (
            f"cell {i} is tagged both to check and to ignore"
        )


def test_sanitize_patterns_never_blank_numbers():
    # a pattern that replaced numbers would hide exactly the differences strict
    # validation must see
    config = configparser.ConfigParser()
    config.read(SANITIZE)
    assert config.sections(), f"{SANITIZE} holds no patterns"
    numbers = [
        "7.4e-17",
        "0.102",
        "521 iterations",
        "1.0e-08",
        "-3.175034",
        "lr*L = 2.05",
    ]
    for section in config.sections():
        regex = re.compile(config[section]["regex"])
        assert not [text for text in numbers if regex.search(text)], (
            f"[{section}] matches a plain number"
        )

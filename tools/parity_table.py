"""Print the parity table of gdbook's optimizers against their references:
for each optimizer, the largest difference that the parity tests' own
comparisons (``np.testing.assert_allclose``, ``torch.testing.assert_close``)
saw, over every option and step they run.

    python tools/parity_table.py            (about 30 s on 2 cores)

The tests pass or fail on their own tolerances (rtol 1e-10 in float64); this
only records how close the runs came.
"""

import collections
import pathlib
import re
import sys

import numpy as np
import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTS = [
    "tests/test_optim_adam_family.py",
    "tests/test_optim_classic.py",
    "tests/test_optim_beyond.py",
]
SELECT = "match and not compile and not cuda and not defaults and not state"
REFERENCES = {
    "Lion": "lion_pytorch.Lion",
    "AdamWScheduleFree": "schedulefree.AdamWScheduleFree",
}


def as_array(x) -> np.ndarray:
    if torch.is_tensor(x):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.complex128)


class Recorder:
    """A pytest plugin: per test, the largest absolute and relative
    difference of every comparison made while it ran."""

    def __init__(self):
        self.seen = collections.defaultdict(lambda: [0.0, 0.0, 0])
        self.test = None

    def note(self, actual, desired) -> None:
        try:
            a, d = as_array(actual), as_array(desired)
        except (TypeError, ValueError):
            return
        if a.shape != d.shape or not (np.isfinite(a).all() and a.size):
            return
        diff = np.abs(a - d)
        rel = diff / np.maximum(np.abs(d), np.finfo(float).tiny)
        row = self.seen[self.test]
        row[0] = max(row[0], float(diff.max()))
        row[1] = max(row[1], float(rel.max()))
        row[2] += 1

    def wrap(self, compare):
        def recorded(actual, desired, *args, **kwargs):
            self.note(actual, desired)
            return compare(actual, desired, *args, **kwargs)

        return recorded

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        self.test = item.nodeid
        yield


def optimizer_of(test_id: str) -> str:
    """The optimizer a parity test checks, from its parameters or name."""
    found = re.search(r"\[([A-Z]\w*?)[\[(\]-]", test_id)
    if found:
        return found.group(1)
    name = test_id.split("::")[1].split("[")[0].removeprefix("test_")
    return {
        "asgd": "ASGD",
        "rprop": "Rprop",
        "adafactor": "Adafactor",
        "lion": "Lion",
        "schedule": "AdamWScheduleFree",
        "muon": "Muon",
    }.get(name.split("_")[0], name)


def main() -> int:
    recorder = Recorder()
    np.testing.assert_allclose = recorder.wrap(np.testing.assert_allclose)
    torch.testing.assert_close = recorder.wrap(torch.testing.assert_close)
    code = pytest.main(
        ["-q", "-o", "addopts=", "-p", "no:cacheprovider", "-k", SELECT]
        + [str(ROOT / t) for t in TESTS],
        plugins=[recorder],
    )
    table = collections.defaultdict(lambda: [0.0, 0.0, 0, 0])
    for test_id, (diff, rel, count) in recorder.seen.items():
        row = table[optimizer_of(test_id)]
        row[0], row[1] = max(row[0], diff), max(row[1], rel)
        row[2] += count
        row[3] += 1
    print(
        "\n| optimizer | reference | tests | comparisons | max abs diff "
        "| max rel diff |"
    )
    print("|---|---|---|---|---|---|")
    for name, (diff, rel, count, tests) in sorted(table.items()):
        reference = REFERENCES.get(name, f"torch.optim.{name}")
        print(
            f"| {name} | {reference} | {tests} | {count} | {diff:.1e} "
            f"| {rel:.1e} |"
        )
    return int(code)


if __name__ == "__main__":
    sys.exit(main())

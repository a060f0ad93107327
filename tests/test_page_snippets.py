"""Run the Python snippets of the Markdown pages and check what they show.

The chapters are notebooks, validated by nbval; the pages ``errata.md``,
``tools_resources.md`` and ``outlook.md`` are Markdown, and their code blocks
would otherwise never run. Each ```` ```python ```` block of these pages is
executed here in a fresh namespace (in this process, on the CPU), and checked
against what the page says it prints or does: the output quoted in a comment
or in the text around it, the exception it demonstrates, the warning it
triggers, or the numbers the text claims.

Every snippet must have exactly one entry in ``CASES`` (found by a ``key``
that occurs in that snippet alone), so a snippet added to a page without a
check fails :func:`test_every_snippet_is_checked`. ``shown`` lists text that
the page shows (in the snippet or in the prose around it) for the output that
the entry checks: if the page changes what it shows, the test fails until
the check is brought in line.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
PAGES = ("errata.md", "tools_resources.md", "outlook.md")
FENCE = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


@dataclass(frozen=True)
class Snippet:
    page: str
    line: int
    code: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass(frozen=True)
class Case:
    key: str  # text that occurs in this snippet and no other of its page
    shown: tuple[str, ...] = ()  # what the page shows, checked to be there
    lines: tuple[str, ...] = ()  # regexes, each must match a printed line
    raises: str | None = None  # name of the exception it demonstrates
    warns: str | None = None  # text of the warning it demonstrates
    requires: tuple[str, ...] = ()  # optional packages: skipped without
    check: Callable[[dict, str], None] | None = None  # (namespace, stdout)


def snippets(page: str) -> list[Snippet]:
    text = (BOOK / page).read_text(encoding="utf-8")
    return [
        Snippet(page, text[: m.start()].count("\n") + 1, m.group(1))
        for m in FENCE.finditer(text)
    ]


def _numbers(pattern: str, stdout: str) -> list[float]:
    match = re.search(pattern, stdout, re.M)
    assert match, f"{pattern!r} not in output:\n{stdout}"
    return [float(g) for g in match.groups()]


def _intercept_slope(ns, out):  # "close to 4 and 3"
    intercept, slope = _numbers(r"^intercept (\S+), slope (\S+)$", out)
    assert abs(intercept - 4) < 0.1 and abs(slope - 3) < 0.1


def _horizontal_line(ns, out):  # "about 0 and 3"
    slope, intercept = _numbers(r"^slope (\S+), intercept (\S+)$", out)
    assert abs(slope) < 1e-3 and abs(intercept - 3) < 1e-3


def _sgd_near_optimum(ns, out):  # "near w*, within SGD's noise"
    gap = np.max(np.abs(ns["w"] - ns["problem"].x_star))
    assert 0 < gap < 0.25


def _adam_agrees(ns, out):
    # fed the same gradients, the two Adams agree to round-off, and end where
    # the Optax run below them ends ("as gdbook.optim.Adam")
    assert ns["difference"] < 1e-12
    assert np.allclose(ns["x"], [-1.0435756, 1.09388266], rtol=0, atol=1e-7)


def _optax_point(ns, out):
    params = np.asarray(ns["params"])
    assert np.allclose(params, [-1.0435756, 1.09388266], rtol=0, atol=1e-7)


def _lbfgs_counts(ns, out):
    # "521 iterations and 612 evaluations ... move by a few", scipy "514
    # iterations at a distance of about 2e-5"
    ours, plain = ns["ours"], ns["plain"]
    assert ours.success and 500 <= ours.nit <= 540
    assert 590 <= ours.nfev <= 635
    assert 495 <= plain.nit <= 535
    assert 1e-5 <= np.max(np.abs(plain.x - 1)) < 4e-5


def _sgdregressor_close(ns, out):  # "within about 1e-2 of the exact"
    sk, exact = ns["sk"], ns["problem"].x_star
    fitted = np.array([sk.intercept_[0], sk.coef_[0]])
    assert np.max(np.abs(fitted - exact)) < 2e-2


CASES: dict[str, tuple[Case, ...]] = {
    "errata.md": (
        Case(
            "claimed = f - lr * g @ g",  # asserts the lemma and the failure
            lines=(r"^lr = 0\.01: ", r"^lr = 0\.1: ", r"^lr = 0\.4: "),
        ),
        Case(
            "along the gradient:",
            shown=("# 2.500", "# 4.525", "# 1.125"),
            lines=(
                r"^f\(x\) = 2\.500$",
                r"^along the gradient:   4\.525$",
                r"^against the gradient: 1\.125$",
            ),
        ),
        Case(
            "theta = np.zeros(1)  # (1,)",
            shown=("-> (5, 5)", "# ValueError"),
            lines=(r"^\(5, 5\)$",),
            raises="ValueError",
        ),
        Case(
            "theta = np.zeros((2, 1))",
            shown=("# (2, 5)",),
            lines=(r"^\(2, 5\)$",),
        ),
        Case(
            "assert gradient.shape == theta.shape",
            shown=("# [1. 2.]",),
            lines=(r"^\[1\. 2\.\]$",),
        ),
        Case(
            "slope_only, *_",
            shown=("# about 5.7, not 3",),
            lines=(r"^slope 5\.7\d\d$",),
        ),
        Case(
            'f"intercept {w[0]:.3f}',
            shown=("# close to 4 and 3",),
            check=_intercept_slope,
        ),
        Case(
            "check.ok, round(check.relative_error, 6)",
            shown=("# False 0.5",),
            lines=(r"^False 0\.5$",),
        ),
        Case("gradient = lambda w: 2 * X.T"),  # its assert is the check
        Case(
            '("no intercept", X)',
            shown=(
                "# no intercept: w = [0.636 0.818], residual sum 0.364",
                "# intercept   : w = [-1.  1.  1.], residual sum 0.000",
            ),
            lines=(
                r"^no intercept: w = \[0\.636 0\.818\], residual sum 0\.364$",
                r"^intercept   : w = \[-1\.  1\.  1\.\], residual sum 0\.000$",
            ),
        ),
        Case(
            "return 2 / N * X.T",
            shown=("# N is never defined: NameError",),
            raises="NameError",
        ),
        Case(
            "return 2 / len(y) * X.T",
            lines=(r"^\[-6\. +-8\.66666667\]$",),
        ),
        Case(
            "theta = np.array([0, 0])  # dtype int64",
            shown=("# UFuncTypeError", "# RuntimeError"),
            lines=(r"^UFuncTypeError$",),
            raises="RuntimeError",
        ),
        Case(
            "theta = np.array([0, 0], dtype=float)",
            lines=(r"^\[0\.08 0\.17\] torch\.Size\(\[3, 1\]\)$",),
        ),
        Case(
            "# NameError: model is defined below",
            raises="NameError",
        ),
        Case("optimizer = torch.optim.SGD(model.parameters(), lr=0.1)"),
        Case(
            "# UserWarning: target size differs",
            shown=("# about 0 and 3",),
            warns="target size",
            check=_horizontal_line,
        ),
        Case(
            'warnings.simplefilter("error")',
            shown=("# slope 2, intercept 1",),
            lines=(r"^\[2\.0, 1\.0\]$",),
        ),
        Case(
            "X @ np.array([-0.5, 1.0])",
            shown=("# [1.5 2.  2.5 3. ]", "# [1. 0.]", "# 2: three columns"),
            lines=(r"^\[1\.5 2\.  2\.5 3\. \]$", r"^\[1\. 0\.\]$", r"^2$"),
        ),
        Case("grad_f = lambda x: -2.0 * (x - 3.0)"),  # its assert
        Case("# drawn ..."),  # the wrong SGD: runs, shows nothing
        Case(
            "problem.grad(w, np.array([i]))",
            shown=("# near w*, within SGD's noise",),
            check=_sgd_near_optimum,
        ),
        Case(
            "raw = Scaled(",
            shown=("# False: diverged",),
            lines=(r"^L = 6769, 2/L = 3\.0e-04$", r"^False diverged"),
        ),
        Case(
            "z, mean, scale = data.standardize",
            shown=("# -1 + 2 x",),
            lines=(r"^L = 2\.0; y = -1\.0000 \+ 2\.0000 x$",),
        ),
    ),
    "tools_resources.md": (
        Case(
            "theirs = torch.optim.Adam([p], lr=0.01)",
            shown=("as gdbook.optim.Adam",),
            lines=(r"^largest difference after 100 steps: ",),
            check=_adam_agrees,
        ),
        Case(
            "optax.adam(learning_rate=0.01)",
            shown=("# [-1.0435756   1.09388266], as gdbook.optim.Adam",),
            requires=("jax", "optax"),
            check=_optax_point,
        ),
        Case("CosineAnnealingLR"),  # its assert is the check
        Case(
            'method="L-BFGS-B"',
            shown=(
                "521 iterations and 612 evaluations",
                "514 iterations at a",
                "distance of about $2\\times10^{-5}$",
            ),
            lines=(
                r"^gdbook: +\d+ iterations, \d+ evaluations$",
                r"^scipy, own rules: \d+ iterations, "
                r"max \|x - x\*\| = [1-3]e-05$",
            ),
            check=_lbfgs_counts,
        ),
        Case(
            "SGDRegressor(penalty=None",
            shown=("within about $10^{-2}$ of the exact minimiser",),
            check=_sgdregressor_close,
        ),
    ),
    "outlook.md": (),  # no Python code at present
}


def _match(page: str) -> list[tuple[Snippet, Case]]:
    found = snippets(page)
    pairs = []
    for case in CASES[page]:
        hits = [s for s in found if case.key in s.code]
        assert len(hits) == 1, (
            f"{page}: key {case.key!r} is in {len(hits)} snippets, not 1"
        )
        pairs.append((hits[0], case))
    return pairs


def _all_pairs() -> list[tuple[Snippet, Case]]:
    return [pair for page in PAGES for pair in _match(page)]


@pytest.mark.parametrize("page", PAGES)
def test_every_snippet_is_checked(page):
    checked = {s.line for s, _ in _match(page)}
    unchecked = [s.id for s in snippets(page) if s.line not in checked]
    assert not unchecked, f"snippets without an entry in CASES: {unchecked}"
    assert len(checked) == len(CASES[page]), "two keys share a snippet"


_PAIRS = _all_pairs()


@pytest.mark.parametrize(
    "snippet, case", _PAIRS, ids=[s.id for s, _ in _PAIRS]
)
def test_snippet(snippet: Snippet, case: Case):
    for module in case.requires:
        pytest.importorskip(
            module, reason=f"{snippet.id} needs {module}, not installed"
        )
    page_text = (BOOK / snippet.page).read_text(encoding="utf-8")
    for text in case.shown:  # the page still shows what is checked here
        assert text in page_text, (
            f"{snippet.id}: page no longer shows {text!r}"
        )

    namespace: dict = {"__name__": "__snippet__"}
    stdout = io.StringIO()
    raised = None
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(stdout),
    ):
        warnings.simplefilter("always")
        try:
            code = compile(snippet.code, snippet.id, "exec")
            exec(code, namespace)  # the page's own code
        except Exception as error:  # checked below
            raised = error
    out = stdout.getvalue()

    if case.raises is None:
        assert raised is None, f"{snippet.id} raised {raised!r}"
    else:
        assert type(raised).__name__ == case.raises, (
            f"{snippet.id}: expected {case.raises}, got {raised!r}"
        )
    if case.warns is not None:
        assert any(case.warns in str(w.message) for w in caught), (
            f"{snippet.id}: no warning containing {case.warns!r}"
        )
    for pattern in case.lines:
        assert re.search(pattern, out, re.M), (
            f"{snippet.id}: no printed line matches {pattern!r}; "
            f"printed:\n{out}"
        )
    if case.check is not None:
        case.check(namespace, out)

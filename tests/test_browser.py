"""The built book in a real browser (Chromium, driven by Playwright).

Every page of ``_build/html`` is served on 127.0.0.1 and opened at 1280 px:
MathJax reports no error, every image loads, no request leaves the machine,
no code block, text output or display equation is wider than its column, the
console shows no error, and the page with its images and explorable
figures stays under 5 MB (``page_bytes``: the HTML and everything it loads
outside ``_static/``, the theme's, MathJax's and the fonts' files that every
page shares and the browser caches; ``bytes`` counts those too). Search
finds the momentum chapter, and each explorable figure redraws when its
control moves.

Chromium comes from Debian (``apt-get install chromium``); Playwright drives
``/usr/bin/chromium`` and downloads no browser. Without Chromium, Playwright
or a built book the module skips with the reason, unless
``GDBOOK_BROWSER_TEST=required`` (set by ``.ci/run``) turns the skip into a
failure. At 390 px (a phone) no page may scroll sideways: wide content
scrolls in its own box. ``GDBOOK_HTML`` points at another build's ``html``
folder. ``python tests/test_browser.py [WIDTH ...]`` prints the per-page
counts instead (for closing notes and before/after comparisons).
"""

import functools
import http.server
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
HTML = pathlib.Path(os.environ.get("GDBOOK_HTML", ROOT / "_build" / "html"))
CHROMIUM = os.environ.get("GDBOOK_CHROMIUM", "/usr/bin/chromium")
PAGE_BUDGET_BYTES = 5_000_000
THEME_SCRIPTS = ("/_static/scripts/", "/_static/vendor/")

# One pass over a loaded page; the selectors are those of sphinx-book-theme,
# myst-nb and MathJax 3 (CHTML output).
MEASURE_JS = """
() => {
  const wider = (el) => el.scrollWidth > el.clientWidth + 1;
  const all = (sel) => [...document.querySelectorAll(sel)];
  const code = all('div.highlight pre').filter(
    (el) => !el.closest('.cell_output'));
  const outputs = all('.cell_output pre');
  const equations = all('mjx-container[display="true"]');
  const images = all('img');
  const figures = all('figure');
  const entries = performance.getEntriesByType('navigation')
    .concat(performance.getEntriesByType('resource'));
  const size = (list) => list.reduce(
    (sum, e) => sum + (e.decodedBodySize || 0), 0);
  const bytes = size(entries);
  const own = size(entries.filter((e) => !e.name.includes('/_static/')));
  return {
    code: code.length, code_wide: code.filter(wider).length,
    outputs: outputs.length, outputs_wide: outputs.filter(wider).length,
    equations: equations.length,
    equations_wide: equations.filter(wider).length,
    math_errors: all('mjx-merror, .MathJax_Error').length,
    images: images.length,
    images_broken: images.filter(
      (im) => !im.complete || im.naturalWidth === 0).length,
    images_no_alt: images.filter(
      (im) => !im.alt || /[.](png|svg|jpe?g)$/.test(im.alt)).length,
    figures: figures.length,
    figures_captioned: figures.filter(
      (f) => f.querySelector('figcaption')).length,
    page_width_overflow: document.documentElement.scrollWidth
      > document.documentElement.clientWidth + 1,
    bytes: bytes,
    page_bytes: own,
  };
}
"""


def _skip_or_fail(reason):
    if os.environ.get("GDBOOK_BROWSER_TEST") == "required":
        pytest.fail(f"browser test required but cannot run: {reason}")
    pytest.skip(reason)


def built_pages():
    """Every content page of the built book, relative to ``_build/html``."""
    skip = {"search.html", "genindex.html"}
    return sorted(
        str(p.relative_to(HTML))
        for p in HTML.rglob("*.html")
        if not p.relative_to(HTML).parts[0].startswith("_")
        and p.name not in skip
        and 'http-equiv="Refresh"' not in p.read_text(encoding="utf-8")
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A browser that drops a connection mid-file is not an error."""


def serve(directory):
    """Serve ``directory`` on 127.0.0.1 at a free port; return the server."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = _QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Browser:
    """A Chromium page that records console errors and foreign requests."""

    def __init__(self, playwright, base, width):
        self.base = base
        self.browser = playwright.chromium.launch(executable_path=CHROMIUM)
        self.context = self.browser.new_context(
            viewport={"width": width, "height": 900}
        )
        self.foreign = []
        self.console_errors = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def _route(self, route):
        if route.request.url.startswith(self.base):
            route.continue_()
        else:
            self.foreign.append(route.request.url)
            route.abort()

    def _console(self, message):
        """Record console errors of the book's own pages and scripts; the
        theme's vendored scripts log their own (e.g. "Got invalid theme
        mode" on a first visit), which are not ours to fix."""
        source = message.location.get("url", "")
        if message.type == "error" and not any(
            part in source for part in THEME_SCRIPTS
        ):
            self.console_errors.append(f"{message.text} ({source})")

    def open(self, path):
        """Load ``path``, wait for MathJax, return the page's counts."""
        self.foreign.clear()
        self.console_errors.clear()
        self.page.goto(f"{self.base}/{path}", wait_until="load")
        self.page.evaluate(
            "() => (window.MathJax && MathJax.startup"
            " ? MathJax.startup.promise : null)"
        )
        return self.page.evaluate(MEASURE_JS)

    def close(self):
        self.browser.close()


@pytest.fixture(scope="module")
def browser():
    if not pathlib.Path(CHROMIUM).exists():
        _skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("Playwright for Python is not installed")
    if not (HTML / "index.html").exists():
        _skip_or_fail("the book is not built (jupyter-book build .)")
    server = serve(HTML)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with sync_playwright() as playwright:
        b = Browser(playwright, base, width=1280)
        yield b
        b.close()
    server.shutdown()


def _pages_or_empty():
    return built_pages() if (HTML / "index.html").exists() else ["index.html"]


@pytest.mark.parametrize("path", _pages_or_empty())
def test_page_reads_at_1280px(browser, path):
    counts = browser.open(path)
    assert browser.foreign == [], "requests left 127.0.0.1"
    assert browser.console_errors == []
    assert counts["math_errors"] == 0
    assert counts["images_broken"] == 0
    assert counts["images_no_alt"] == 0, "an image's alt is missing or a file"
    assert counts["figures"] == counts["figures_captioned"]
    wide = {k: counts[k] for k in ("code_wide", "outputs_wide")}
    wide["equations_wide"] = counts["equations_wide"]
    assert wide == dict.fromkeys(wide, 0), "content wider than its column"
    assert not counts["page_width_overflow"]
    assert counts["page_bytes"] < PAGE_BUDGET_BYTES


@pytest.mark.parametrize("path", _pages_or_empty())
def test_page_never_scrolls_sideways_on_a_phone(browser, path):
    """At 390 px a long equation or code block scrolls inside its own box
    (the CSS in _static/book.css); the page itself never gets wider."""
    browser.page.set_viewport_size({"width": 390, "height": 800})
    try:
        counts = browser.open(path)
        scrolls = browser.page.evaluate(
            "() => [...document.querySelectorAll("
            "'mjx-container[display=\"true\"]')].every("
            "(el) => getComputedStyle(el).overflowX === 'auto')"
        )
    finally:
        browser.page.set_viewport_size({"width": 1280, "height": 900})
    assert not counts["page_width_overflow"]
    assert scrolls, "a display equation does not scroll in its own box"


def test_general_index_lists_the_glossary_terms(browser):
    index = (HTML / "genindex.html").read_text(encoding="utf-8")
    glossary = (ROOT / "book" / "glossary.md").read_text(encoding="utf-8")
    terms = glossary.count("| {index}`")
    assert terms >= 70
    assert index.count("glossary.html#index-") == terms


def test_search_finds_momentum_chapter(browser):
    browser.page.goto(f"{browser.base}/search.html?q=Nesterov")
    links = browser.page.locator("#search-results li a")
    links.first.wait_for(timeout=20_000)
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert any("06_momentum" in h for h in hrefs), hrefs


# The explorable figures the book promises (issue: step size, momentum,
# method); each page's figures must redraw when their control moves.
EXPLORABLE = {
    "book/02_concepts.html": 1,
    "book/06_momentum.html": 1,
    "book/07_adaptive.html": 1,
}


def test_explorable_figures_are_where_the_book_promises(browser):
    found = {
        path: (HTML / path)
        .read_text(encoding="utf-8")
        .count('class="gdbook-explore"')
        for path in built_pages()
    }
    assert {p: n for p, n in found.items() if n} == EXPLORABLE


@pytest.mark.parametrize("path", sorted(EXPLORABLE))
def test_explorable_figure_redraws_when_its_control_moves(browser, path):
    browser.open(path)
    figures = browser.page.locator("figure.gdbook-explore")
    assert figures.count() == EXPLORABLE[path]
    for i in range(figures.count()):
        figure = figures.nth(i)
        drawn = figure.locator("g.paths").first
        before = drawn.inner_html()
        control = figure.locator(".control")
        if control.evaluate("el => el.tagName") == "SELECT":
            last = control.evaluate("el => el.options.length - 1")
            control.select_option(str(last))
        else:
            control.fill(control.get_attribute("max"))
        assert drawn.inner_html() != before
    assert browser.console_errors == []


EXPLORABLE_CELL = """
import numpy as np
from gdbook import explore
from gdbook.problems import Quadratic
bowl = Quadratic(np.diag([4.0, 0.25]))
settings = {}
for k in (1, 5):
    x, path = np.array([-1.5, 2.5]), []
    for _ in range(10):
        path.append(x)
        x = x - k / 10 * bowl.grad(x)
    settings[f"lr {k / 10}"] = [{"GD": np.array(path)}]
explore.explorable_paths(
    "lab", [explore.Panel(bowl, (-3, 3), (-1, 3))], settings,
    control="slider", label="lr", caption="a test", alt="a test",
)
"""


def test_explorable_figure_works_in_jupyterlab(browser, tmp_path):
    """Run a cell that shows an explorable figure in JupyterLab (served on
    127.0.0.1 from this Python) and move its slider."""
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(EXPLORABLE_CELL)]
    notebook.metadata["kernelspec"] = {  # no "Select Kernel" dialog
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, tmp_path / "explore.ipynb")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lab = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.token=",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={tmp_path}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    context = browser.browser.new_context()
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(base)
            else route.abort()
        ),
    )
    try:
        _wait_for_server(f"{base}/api", seconds=60)
        page = context.new_page()
        page.goto(f"{base}/lab/tree/explore.ipynb", timeout=60_000)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        # run only once the kernel is up: a cell sent earlier is dropped
        page.get_by_text("| Idle").first.wait_for(timeout=90_000)
        page.locator(".jp-Cell .jp-InputArea-editor").first.click()
        page.keyboard.press("Shift+Enter")
        figure = page.locator("figure.gdbook-explore")
        try:
            figure.wait_for(timeout=60_000)
        finally:
            # what the page showed, to read when the test fails
            page.screenshot(path=str(tmp_path / "lab.png"))
        drawn = figure.locator("g.paths path").first
        before = drawn.get_attribute("d")
        figure.locator(".control").fill("1")
        assert before.startswith("M") and drawn.get_attribute("d") != before
    finally:
        context.close()
        lab.terminate()
        lab.wait(timeout=30)


def _wait_for_server(url, seconds):
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def report(widths):
    """Print each page's counts at each width (a table for closing notes)."""
    from playwright.sync_api import sync_playwright

    server = serve(HTML)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    keys = ["code", "code_wide", "outputs", "outputs_wide", "equations"]
    keys += ["equations_wide", "figures", "figures_captioned", "images"]
    keys += ["images_no_alt", "page_width_overflow", "page_bytes", "bytes"]
    with sync_playwright() as playwright:
        for width in widths:
            b = Browser(playwright, base, width)
            print(f"width {width}px\npage " + " ".join(keys))
            for path in built_pages():
                c = b.open(path)
                print(path, *(c[k] for k in keys))
            b.close()
    server.shutdown()


if __name__ == "__main__":
    if shutil.which(CHROMIUM) is None:
        sys.exit(f"no Chromium at {CHROMIUM}")
    report([int(w) for w in sys.argv[1:]] or [1280, 390])

"""Check that built HTML pages load no script, style sheet, image or font from
the network.

Usage: python tests/check_offline_html.py _build/html   (exit status 1 and a
list of offenders if any)
"""

from __future__ import annotations

import pathlib
import re
import sys

# Attributes through which a page loads a resource (links in <a href> are
# navigation, not loads).
_LOADING = re.compile(
    r"""<(?P<tag>script|img|iframe|source|link)\b[^>]*?\b(?:src|href)\s*=\s*["'](?P<url>[^"']+)["'][^>]*>""",
    re.IGNORECASE,
)
_CSS_URL = re.compile(
    r"""@import\s+["']?(?P<url>(?:https?:)?//[^"')\s]+)|url\(\s*["']?(?P<url2>(?:https?:)?//[^"')\s]+)"""
)
_EXTERNAL = re.compile(r"^(?:https?:)?//", re.IGNORECASE)
# A script or style sheet URL in a string, e.g. a constant that inline
# JavaScript loads later.
_ASSET_STRING = re.compile(
    r"""["'](?P<url>(?:https?:)?//[^"'\s]+\.(?:m?js|css)(?:\?[^"'\s]*)?)["']""",
    re.IGNORECASE,
)


def external_loads(html: str) -> list[str]:
    """The external URLs that ``html`` loads as a resource (scripts, styles,
    images, frames, fonts)."""
    found = []
    for match in _LOADING.finditer(html):
        tag, url = match.group("tag").lower(), match.group("url")
        if tag == "link" and not re.search(
            r"""rel\s*=\s*["'][^"']*(stylesheet|preload|icon|modulepreload)""",
            match.group(0),
            re.IGNORECASE,
        ):
            continue
        if _EXTERNAL.match(url):
            found.append(url)
    for match in _CSS_URL.finditer(html):
        found.append(match.group("url") or match.group("url2"))
    for match in _ASSET_STRING.finditer(html):
        if match.group("url") not in found:
            found.append(match.group("url"))
    return found


def check_tree(root: pathlib.Path) -> dict[str, list[str]]:
    """Map each HTML/CSS file under ``root`` that loads external URLs to those
    URLs."""
    offenders = {}
    for path in sorted(root.rglob("*")):
        if path.suffix in {".html", ".css"} and path.is_file():
            urls = external_loads(
                path.read_text(encoding="utf-8", errors="replace")
            )
            if urls:
                offenders[str(path.relative_to(root))] = urls
    return offenders


def main(argv: list[str]) -> int:
    root = pathlib.Path(argv[1] if len(argv) > 1 else "_build/html")
    if not (root / "index.html").exists():
        print(f"no built book at {root}", file=sys.stderr)
        return 1
    offenders = check_tree(root)
    for page, urls in offenders.items():
        print(f"{page}: {', '.join(sorted(set(urls)))}")
    print(
        f"{len(offenders)} file(s) load external resources"
        if offenders
        else "all pages load only local resources"
    )
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

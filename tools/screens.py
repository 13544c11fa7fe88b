"""How long each page of the built book reads at 1280 px, and how far a reader goes without a
figure, a diff or a table (issue #24 item 3), measured in Debian's Chromium.

A "screen" is one 1280x800 viewport. For each page it reports

* ``screens``: the page's height in screens (``scrollHeight / 800``);
* ``longest_run``: the longest stretch of the article, in screens, in which no figure
  (an ``img`` that loaded, shown at least MIN_FIGURE_PX tall), diff block (a ``.demos-code``
  box with added or removed lines, or a ``diff`` code block) or table (two rows or more, at
  least MIN_TABLE_PX tall) is visible -- the start and end of the article count as edges;
* ``where``: the first words of the text just before that stretch, to find it.

Only what is visible counts: a figure in a closed toggle neither adds to the height nor
breaks a run. The limits are the book's layout rule: a page under 20 screens, no run over 3,
compared with the unrounded measurement.

    python tools/screens.py                        # _build/html, the chapters' pages
    python tools/screens.py --site ../x/_build/html --all --json
    python tools/screens.py --check                # exit 1 naming a page over a limit

The pages come from the ``_toc.yml`` next to the site (``<site>/../../_toc.yml``), so a
helper's new depth page is measured in that helper's build.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
VIEWPORT = {"width": 1280, "height": 800}
MAX_SCREENS = 20.0
MAX_RUN = 3.0
#: What counts as breaking a run of text: a loaded image shown at least this tall (a broken
#: image or an icon does not), a table of two rows or more at least this tall, a diff block
#: at least a line high.
MIN_FIGURE_PX = 120
MIN_TABLE_PX = 40
MIN_LINE_PX = 12
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# Page height and the vertical extents (document coordinates) of what breaks a run of text.
_MEASURE = r"""
async ([MIN_FIGURE_PX, MIN_TABLE_PX, MIN_LINE_PX]) => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await Promise.all([...document.images].filter(i => !i.complete)
      .map(i => new Promise(r => { i.onload = i.onerror = r; })));
  const article = document.querySelector("main article") || document.querySelector("main")
                  || document.body;
  const y = window.scrollY;
  const box = e => { const r = e.getBoundingClientRect();
                     return {top: r.top + y, bottom: r.bottom + y, h: r.height, w: r.width}; };
  // A figure is an image that loaded and is shown big enough to read; a table has a header
  // and a row (or two rows) and a real height; a diff block is at least a line high.
  const breakers = [
    ...[...article.querySelectorAll("img")]
        .filter(i => i.complete && i.naturalWidth > 0)
        .map(box).filter(b => b.h >= MIN_FIGURE_PX),
    ...[...article.querySelectorAll(".demos-code")]
        .filter(d => d.querySelector(".demos-add, .demos-del"))
        .map(box).filter(b => b.h >= MIN_LINE_PX),
    ...[...article.querySelectorAll("div.highlight-diff")].map(box).filter(b => b.h >= MIN_LINE_PX),
    ...[...article.querySelectorAll("table")].filter(t => t.rows.length >= 2)
        .map(box).filter(b => b.h >= MIN_TABLE_PX),
  ].filter(b => b.w > 0);
  // What a reader reads just before each point: to name where a long run starts.
  const blocks = [...article.querySelectorAll("p, h1, h2, h3, li, pre")]
      .map(e => ({...box(e), text: e.innerText.trim().slice(0, 60)}))
      .filter(b => b.h > 0 && b.text);
  const a = box(article);
  return {height: document.documentElement.scrollHeight, top: a.top, bottom: a.bottom,
          breakers, blocks};
}
"""


@dataclass
class Screens:
    """One page's measurement, in screens of VIEWPORT height."""

    page: str
    screens: float
    longest_run: float
    where: str
    figures_tables_diffs: int

    def over(self, max_screens: float = MAX_SCREENS, max_run: float = MAX_RUN) -> list[str]:
        """What breaks the layout rule, in words (empty when the page keeps it)."""
        problems = []
        if self.screens > max_screens:
            problems.append(f"{self.page} is {self.screens:.2f} screens long "
                            f"(limit {max_screens:g})")
        if self.longest_run > max_run:
            problems.append(f"{self.page} has {self.longest_run:.2f} screens without a figure, "
                            f"diff or table (limit {max_run:g}), after {self.where!r}")
        return problems


def toc_pages(toc: Path) -> list[str]:
    """Every page of a _toc.yml, root first, depth pages (``sections``) after their chapter."""
    data = yaml.safe_load(toc.read_text())

    def walk(entries: list[dict]) -> Iterator[str]:
        for entry in entries:
            if "file" in entry:
                yield entry["file"]
            yield from walk(entry.get("sections", []))
            yield from walk(entry.get("chapters", []))

    return [data["root"], *walk(data.get("parts", [])), *walk(data.get("chapters", []))]


def reading_pages(pages: list[str]) -> list[str]:
    """The pages the layout rule is for: the front page and every notebook page."""
    return [p for p in pages if p.startswith("notebooks/") or p == pages[0]]


def longest_run(seen: dict[str, Any]) -> tuple[float, str]:
    """The longest stretch (px) of the article with nothing that breaks it, and its start."""
    edges = sorted((b["top"], b["bottom"]) for b in seen["breakers"])
    start, best, best_start = seen["top"], 0.0, seen["top"]
    for top, bottom in [*edges, (seen["bottom"], seen["bottom"])]:
        if top - start > best:
            best, best_start = top - start, start
        start = max(start, bottom)
    before = [b for b in seen["blocks"] if b["top"] >= best_start - 1]
    where = min(before, key=lambda b: b["top"])["text"] if before else ""
    return best, where


def measure(page: Any, url: str, name: str) -> Screens:
    """Load ``url`` in a Playwright page of VIEWPORT size and measure it."""
    page.goto(url, wait_until="networkidle")
    seen = page.evaluate(_MEASURE, [MIN_FIGURE_PX, MIN_TABLE_PX, MIN_LINE_PX])
    run, where = longest_run(seen)
    height = VIEWPORT["height"]
    # Not rounded: the limits are compared with what was measured (3.049 is over 3).
    return Screens(page=name, screens=seen["height"] / height,
                   longest_run=run / height, where=where,
                   figures_tables_diffs=len(seen["breakers"]))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """The site on 127.0.0.1 (an ephemeral port) for as long as the block runs."""
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="screens-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5.0)


def measure_site(browser: Any, base_url: str, pages: list[str]) -> list[Screens]:
    """Each page measured in a fresh context of VIEWPORT size of an open Playwright browser."""
    results = []
    for name in pages:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            results.append(measure(context.new_page(), f"{base_url}/{name}.html", name))
        finally:
            context.close()
    return results


def _table(results: list[Screens]) -> str:
    width = max(len(r.page) for r in results)
    lines = [f"{'page':<{width}}  screens  longest run  breakers  run starts at"]
    for r in results:
        flag = " !" if r.over() else ""
        lines.append(f"{r.page:<{width}}  {r.screens:7.1f}  {r.longest_run:11.1f}  "
                     f"{r.figures_tables_diffs:8d}  {r.where!r}{flag}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", type=Path, default=Path("_build/html"),
                        help="the built site's html folder (default: _build/html)")
    parser.add_argument("--toc", type=Path, default=None,
                        help="the _toc.yml listing the pages (default: <site>/../../_toc.yml)")
    parser.add_argument("--all", action="store_true",
                        help="every page of the toc, not only the front page and notebooks")
    parser.add_argument("--page", action="append", default=[],
                        help="measure only this page (e.g. notebooks/01_precision); repeatable")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--check", action="store_true",
                        help=f"exit 1 if a page is over {MAX_SCREENS:g} screens or has a run "
                             f"over {MAX_RUN:g} screens")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    if not (site / "index.html").exists():
        parser.error(f"--site must be a built html folder with index.html, got {args.site}")
    toc = args.toc or site.parents[1] / "_toc.yml"
    if not toc.exists():
        toc = ROOT / "_toc.yml"
    pages = args.page or toc_pages(toc)
    if not args.page and not args.all:
        pages = reading_pages(pages)

    from playwright.sync_api import sync_playwright

    with serve(site) as base_url, sync_playwright() as playwright:
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        browser = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        try:
            results = measure_site(browser, base_url, pages)
        finally:
            browser.close()
    print(json.dumps([asdict(r) for r in results], indent=2) if args.json
          else _table(results))
    problems = [p for r in results for p in r.over()]
    if args.check and problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

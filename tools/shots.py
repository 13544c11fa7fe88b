"""Screenshots of every page of the built book, as a reader at a desk and on a phone sees it.

For each page of the toc (and the redirect page ``index``) it saves, under ``--out``:

* ``<page>-1280.png``: the whole page at 1280 px wide;
* ``<page>-390.png``: the whole page at 390 px wide (a phone), both at device scale
  ``--scale`` (1 unless given);
* ``<page>-<width>-top.png``: the first screen (1280x800, 390x844), always at device
  scale 1, to read at full size whatever ``--scale`` is.

    python tools/shots.py --site _build/html --out _shots
    python tools/shots.py --scale 0.4      # small enough to open a whole chapter at once

The pictures are for a person to open and read (issue #24); nothing here judges them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from screens import LAUNCH_ARGS, ROOT, serve, toc_pages

WIDTHS = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}
#: Chromium cannot capture taller images (in image pixels); longer pages are cut there.
MAX_HEIGHT_PX = 16000


def _first_screen(browser: Any, url: str, viewport: dict[str, int], path: str) -> None:
    """The first screen at device scale 1: one CSS px is one image pixel, as on a screen."""
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    try:
        page = context.new_page()
        page.goto(url, wait_until="networkidle")
        page.screenshot(path=path)
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=Path("_build/html"))
    parser.add_argument("--out", type=Path, default=Path("_shots"))
    parser.add_argument("--scale", type=float, default=1.0,
                        help="device scale factor: 0.4 makes a 1280 px page 512 px wide")
    parser.add_argument("--page", action="append", default=[],
                        help="only this page (e.g. notebooks/01_precision); repeatable")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    if not (site / "index.html").exists():
        parser.error(f"--site must be a built html folder with index.html, got {args.site}")
    toc = site.parents[1] / "_toc.yml"
    pages = args.page or [*toc_pages(toc if toc.exists() else ROOT / "_toc.yml"), "index"]
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with serve(site) as base_url, sync_playwright() as playwright:
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        browser = playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        try:
            for name in pages:
                stem = args.out / name.replace("/", "__")
                for label, viewport in WIDTHS.items():
                    context = browser.new_context(viewport=viewport,
                                                  device_scale_factor=args.scale)
                    try:
                        page = context.new_page()
                        page.goto(f"{base_url}/{name}.html", wait_until="networkidle")
                        height = page.evaluate("document.documentElement.scrollHeight")
                        shown = min(height, int(MAX_HEIGHT_PX / args.scale))
                        clip = {"x": 0, "y": 0, "width": viewport["width"], "height": shown}
                        page.screenshot(path=f"{stem}-{label}.png", clip=clip, full_page=True)
                        cut = f" (cut at {shown} px)" if height > shown else ""
                        print(f"{name} at {label} px: {height} px tall{cut}")
                    finally:
                        context.close()
                    _first_screen(browser, f"{base_url}/{name}.html", viewport,
                                  f"{stem}-{label}-top.png")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

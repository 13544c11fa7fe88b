"""Debian's headless Chromium, driven by Playwright: one way to start it for every browser test.

Playwright cannot download its own browsers here, so it drives `/usr/bin/chromium`
(`apt-get install chromium`; `.ci/run` installs it). Missing, it is a skip on a laptop and a
failure on CI, where a missing browser is a broken set-up.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: What a headless browser needs as root on a closed network (see the env notes in README).
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched Playwright Browser; closed on exit."""
    if not Path(CHROMIUM).exists():
        missing = "Debian's chromium is not installed: run `apt-get install -y chromium`"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()

"""The built site in a real headless Chromium: pages load, figures are images, no errors.

Chromium is Debian's (`apt-get install chromium`; `.ci/run` installs it): Playwright cannot
download its own browsers here. Every request to a host other than 127.0.0.1 is aborted, so
the test needs no network and proves the site does not depend on one.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from book_layout import repository_url, toc_files

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    # What a headless browser needs as root on a closed network (see the env notes in README).
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# Console errors we accept, each with its reason. Everything else fails the test.
ALLOWED_CONSOLE_ERRORS = (
    # Requests to outside hosts are aborted on purpose (see route below); Chromium logs each.
    "net::ERR_FAILED",
    # sphinx-thebe 0.3.1 adds its inline config script twice under jupyter-book 1.0.4 (its
    # `env-before-read-docs` hook runs twice), so the second `const` declaration throws.
    # Harmless: the book does not use Thebe (launch buttons go to Binder and Colab).
    "Identifier 'THEBE_JS_URL' has already been declared",
    # pydata-sphinx-theme logs this with console.error on a first visit, when no light/dark
    # choice is stored yet; it then follows the system theme, which is what we want.
    "Got invalid theme mode: . Resetting to auto.",
)


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Chromium's renderer processes come and go with pages; only threads are checked here."""
    before = set(threading.enumerate())
    yield
    for thread in set(threading.enumerate()) - before:
        thread.join(2.0)
        assert not thread.is_alive(), f"thread left running: {thread.name}"


@pytest.fixture(scope="module")
def site_url(built_site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(built_site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5.0)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site_browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed: run `apt-get install -y chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(site_browser):
    context = site_browser.new_context()
    page = context.new_page()
    page.route("**/*", _only_localhost)
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(f"uncaught: {e}"))
    yield page
    context.close()


def _only_localhost(route) -> None:
    if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


@pytest.mark.parametrize("toc_page", toc_files())
def test_page_loads_with_real_images_and_no_console_errors(page, site_url, toc_page):
    response = page.goto(f"{site_url}/{toc_page}.html", wait_until="load")
    assert response is not None and response.status == 200
    assert page.locator("main h1").count() >= 1
    broken_images = page.evaluate(
        "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert broken_images == []
    unexpected = [e for e in page.console_errors if not any(a in e for a in ALLOWED_CONSOLE_ERRORS)]
    assert unexpected == [], unexpected


@pytest.mark.parametrize("toc_page", [p for p in toc_files() if p.startswith("notebooks/")])
def test_launch_buttons_open_this_notebook_on_binder_and_colab(page, site_url, toc_page):
    page.goto(f"{site_url}/{toc_page}.html", wait_until="load")
    hrefs = page.evaluate("[...document.querySelectorAll('a')].map(a => a.href)")
    repo = urlparse(repository_url()).path.strip("/")
    notebook = f"{toc_page}.ipynb"
    binder = [h for h in hrefs if "mybinder.org" in h and repo in h and notebook in h]
    colab = [h for h in hrefs if "colab.research.google.com" in h and repo in h and notebook in h]
    assert binder, f"no Binder link to {notebook} among {hrefs}"
    assert colab, f"no Colab link to {notebook} among {hrefs}"


def test_a_notebook_page_shows_at_least_one_figure(page, site_url):
    page.goto(f"{site_url}/notebooks/how_to_read.html", wait_until="load")
    sizes = page.evaluate("[...document.images].map(i => i.naturalWidth)")
    assert sizes and min(sizes) > 100

"""The book builds with warnings as errors, and every page of the table of contents exists."""

from __future__ import annotations

import pytest

from book_layout import toc_files

pytestmark = pytest.mark.slow


def test_every_toc_page_is_built(built_site):
    missing = [f for f in toc_files() if not (built_site / f"{f}.html").exists()]
    assert not missing


def test_the_site_has_an_index_page(built_site):
    assert (built_site / "index.html").exists()


def test_notebook_pages_show_their_stored_figures(built_site):
    for page in toc_files():
        if page.startswith("notebooks/"):
            html = (built_site / f"{page}.html").read_text(encoding="utf-8")
            assert "<img" in html, f"{page} has no figure"

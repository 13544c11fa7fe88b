"""book/references.md is written from the chapters' "Further reading" cells (one home)."""

from __future__ import annotations

import sys

import nbformat

from book_layout import ROOT

sys.path.insert(0, str(ROOT / "tools"))
try:
    import references
finally:
    sys.path.pop(0)


def test_the_references_page_is_what_the_chapters_further_reading_cells_make():
    """A chapter's references are edited in its notebook; the page follows."""
    page = (ROOT / references.PAGE).read_text(encoding="utf-8")
    assert page == references.render(ROOT), (
        "book/references.md is not what the notebooks' `## Further reading` cells make: edit "
        "the chapter's notebook (never the page), then run `make notebooks NB=<it>` or "
        "`.venv/bin/python tools/references.py`, and commit book/references.md")


def test_every_chapter_in_the_toc_has_its_reading_list_on_the_page_in_book_order():
    page = (ROOT / references.PAGE).read_text(encoding="utf-8")
    listed = [e for e in references.toc_notebooks(ROOT)
              if references.further_reading(nbformat.read(ROOT / f"{e}.ipynb", as_version=4))]
    assert listed, "no notebook in _toc.yml has a `## Further reading` cell"
    places = [page.index(f"<../{entry}>`") for entry in listed]
    assert places == sorted(places)


def test_a_quoted_list_is_unquoted_and_relative_links_point_at_the_notebooks():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# T\n\nStory."),
        nbformat.v4.new_markdown_cell("## Further reading\n\n> **See also.**\n>\n"
                                      "> - [a](https://x.org/1): one.\n"
                                      "> - [chapter 3](03_batching.ipynb): two."),
        nbformat.v4.new_markdown_cell("- [b](https://x.org/2): three.\n\n## Appendix\n\nNo."),
    ])
    assert references.further_reading(nb) == (
        "- [a](https://x.org/1): one.\n- [chapter 3](../notebooks/03_batching.ipynb): two.\n\n"
        "- [b](https://x.org/2): three.")
    assert references.further_reading(nbformat.v4.new_notebook()) is None

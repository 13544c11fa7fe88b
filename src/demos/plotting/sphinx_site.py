"""The book's Sphinx extension: figures' alt text, and toggles that say what they hide.

* Alt text. An output image's alt is what the PNG says it shows (its ``Description``
  chunk, written by :mod:`demos.plotting.alt` when the figure was saved); a PNG saved
  before that (or by other code) gets the section it sits in, never its file path.
* Toggle labels. myst-nb labels every collapsed cell "Show code cell source"; a cell
  tagged ``solution`` says "Show the solution", and one tagged ``listing`` (a long listing
  whose output is collapsed with ``hide-output``) says "Show the full listing"; either has
  one toggle, even when both its code and its output are hidden.
* The cheat sheet at a glance. ``book/cheatsheet.md`` is written as paragraphs
  (``**Symptom.** …``, ``**How to detect.** …``, ``**Fix.** …``) that the chapters' authors
  edit and the front page quotes; on the site each pitfall's paragraphs become one table,
  a row per label and a last row linking the chapter, so a reader scans the rows.

Listed in _config.yml's ``sphinx.extensions``; tests/test_site.py checks both on the site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

from demos.plotting.alt import png_description

#: tag -> (prompt to show, prompt to hide); myst-nb fills ``{type}`` in its defaults only.
LABELS = {
    "solution": ("Show the solution", "Hide the solution"),
    "listing": ("Show the full listing", "Hide the full listing"),
}


def _enclosing_section(node: nodes.Node) -> str:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, nodes.section) and isinstance(parent.children[0], nodes.title):
            return parent.children[0].astext()
        parent = parent.parent
    return ""


class FigureAltText(SphinxPostTransform):
    """Alt text for output images: what the PNG says it shows, else where it stands."""

    default_priority = 200
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        for image in self.document.findall(nodes.image):
            uri = image.get("uri", "")
            if image.get("alt") and image["alt"] != uri:
                continue
            path = Path(uri)
            if not path.is_absolute():
                path = Path(self.env.srcdir) / uri
            said = png_description(path) if path.suffix == ".png" and path.exists() else None
            if not said:
                section = _enclosing_section(image)
                said = f"Figure in the section “{section}”" if section else "A figure"
            image["alt"] = said


class ToggleLabels(SphinxPostTransform):
    """Before myst-nb wraps hidden cells (priority 199), give tagged cells their labels."""

    default_priority = 198
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        for cell in self.document.findall(nodes.container):
            if cell.get("nb_element") == "cell_code" and cell.get("hide_mode"):
                label_toggle(cell)


def label_toggle(cell: nodes.container) -> None:
    """Label a hidden code cell's toggle by its tag; a labelled cell has exactly one toggle.

    Tagged ``hide-input`` and ``hide-output`` both, myst-nb gives a cell two toggles (one
    for its code, one for its output), and with one label a listing read "Show the full
    listing" twice; such a cell is hidden whole, under one toggle, instead.
    """
    tags = cell.get("cell_metadata", {}).get("tags", [])
    for tag, (show, hide) in LABELS.items():
        if tag in tags:
            cell["prompt_show"], cell["prompt_hide"] = show, hide
            if cell.get("hide_mode") == "input+output":
                cell["hide_mode"] = "all"
            return


#: The cheat sheet's labels, in their order in a block, and the row each becomes.
CHEAT_LABELS = {"Symptom.": "Symptom", "How to detect.": "Detect", "Fix.": "Fix"}


def _row(label: str, *content: nodes.Node) -> nodes.row:
    head = nodes.entry("", nodes.paragraph("", "", nodes.strong(label, label)))
    return nodes.row("", head, nodes.entry("", nodes.paragraph("", "", *content)))


def _label(paragraph: nodes.paragraph) -> nodes.strong | None:
    """The paragraph's leading ``**Symptom.**``-style label (after empty text), if any."""
    for child in paragraph.children:
        if isinstance(child, nodes.Text) and not child.astext().strip():
            continue
        if isinstance(child, nodes.strong) and child.astext() in CHEAT_LABELS:
            return child
        return None
    return None


class CheatSheetTables(SphinxPostTransform):
    """Each block of the cheat sheet as a table: Symptom, Detect, Fix and Chapter rows."""

    default_priority = 200  # after the {doc} links are resolved (ReferencesResolver, 10)
    formats = ("html",)

    def run(self, **kwargs: Any) -> None:
        if self.env.docname != "book/cheatsheet":
            return
        for section in list(self.document.findall(nodes.section)):
            labelled = [p for p in section.children if isinstance(p, nodes.paragraph)
                        and _label(p) is not None]
            if not labelled:
                continue
            rows = []
            for paragraph in labelled:
                label = _label(paragraph)
                rest = paragraph.children[paragraph.index(label) + 1:]
                rows.append(_row(CHEAT_LABELS[label.astext()], *[c.deepcopy() for c in rest]))
            links = list(section[0].findall(nodes.reference))
            if links:  # on the page; on paper the heading names the chapter already
                rows.append(_row("Chapter", links[-1].deepcopy()))
                rows[-1]["classes"].append("demos-cheat-chapter")
            group = nodes.tgroup("", nodes.colspec(colwidth=1), nodes.colspec(colwidth=6),
                                 nodes.tbody("", *rows), cols=2)
            table = nodes.table("", group, classes=["demos-cheat"])
            section.insert(section.index(labelled[0]), table)
            for paragraph in labelled:
                section.remove(paragraph)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_post_transform(ToggleLabels)
    app.add_post_transform(FigureAltText)
    app.add_post_transform(CheatSheetTables)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

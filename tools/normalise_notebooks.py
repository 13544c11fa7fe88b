"""Bring stored notebooks to the book's conventions after `jupyter execute` (make notebooks).

What it does, to each notebook given (idempotent: a test checks every stored notebook is a
fixed point, so the site, Colab, JupyterLab and nbval all see the same thing):

* The first code cell is ``book/_colab_setup.py``, removed from the site (``remove-cell``)
  and collapsed in JupyterLab/Notebook (``jupyter.source_hidden``) and Colab (a form).
* Every cell tagged ``solution`` is collapsed everywhere too: ``hide-input`` on the site,
  ``jupyter.source_hidden`` in JupyterLab/Notebook, ``cellView: form`` in Colab.
* A cell that opens with ``%xmode`` (the imports cell) hides its output on the site: the
  line IPython prints ("Exception reporting mode: Minimal") is plumbing, not lesson.
* Widget state and widget views are dropped: stored without a kernel they render as an
  empty box or an error, and the site would load the widget JavaScript from a CDN. Each
  widget cell is followed by a static rendering of its default state instead.

Usage: python tools/normalise_notebooks.py notebooks/*.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SETUP = (ROOT / "book" / "_colab_setup.py").read_text().strip()
WIDGET_MIMES = ("application/vnd.jupyter.widget-view+json",
                "application/vnd.jupyter.widget-state+json")


def _add_tags(cell: dict, *tags: str) -> None:
    have = cell.setdefault("metadata", {}).setdefault("tags", [])
    have += [t for t in tags if t not in have]


def _collapse(cell: dict) -> None:
    meta = cell.setdefault("metadata", {})
    meta.setdefault("jupyter", {})["source_hidden"] = True
    meta["cellView"] = "form"


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code:
        first = code[0]
        first.source = SETUP
        _add_tags(first, "remove-cell")
        _collapse(first)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "solution" in tags:
            _add_tags(cell, "hide-input")
            _collapse(cell)
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith("%xmode"):
            _add_tags(cell, "remove-output")
        kept = []
        for output in cell.outputs:
            data = output.get("data")
            if data is not None:
                for mime in WIDGET_MIMES:
                    data.pop(mime, None)
                if not data:
                    continue
            kept.append(output)
        cell.outputs = kept
    nb.metadata.pop("widgets", None)
    return nb


def main(paths: list[str]) -> int:
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        after = nbformat.writes(normalise(nb))
        if after != before:
            Path(path).write_text(after + ("" if after.endswith("\n") else "\n"),
                                  encoding="utf-8")
            print(f"normalised {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

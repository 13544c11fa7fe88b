"""Conventions every stored notebook keeps, so the site, Colab, Binder and nbval agree."""

from __future__ import annotations

import json
import re

import pytest

from book_layout import ROOT, notebooks, repository_url, toc_files

SETUP = (ROOT / "book" / "_colab_setup.py").read_text().strip()
RAISES = {"raises-exception", "nbval-raises-exception"}


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell) -> str:
    return "".join(cell["source"])


PATHS = notebooks()
IDS = [p.name for p in PATHS]


def test_the_colab_setup_cell_installs_from_the_repository_in_config():
    assert repository_url() in SETUP


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_first_code_cell_is_the_colab_setup_hidden_from_the_site(path):
    first = code_cells(load(path))[0]
    assert source(first).strip() == SETUP
    assert "remove-cell" in first["metadata"].get("tags", [])


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_is_stored_executed_in_order_without_stray_errors(path):
    cells = [c for c in code_cells(load(path)) if source(c).strip()]
    counts = [c["execution_count"] for c in cells]
    assert None not in counts, "run `make notebooks`: some cells were never executed"
    assert counts == sorted(counts), "cells were executed out of order"
    for cell in cells:
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        if errors:
            assert RAISES & set(cell["metadata"].get("tags", [])), source(cell)[:200]


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_is_in_the_table_of_contents(path):
    assert f"notebooks/{path.stem}" in toc_files()


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_does_not_edit_sys_path_or_store_svg(path):
    nb = load(path)
    for cell in code_cells(nb):
        assert not re.search(r"sys\.path\.(insert|append)", source(cell))
        for output in cell["outputs"]:
            assert "image/svg+xml" not in output.get("data", {})


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_opens_with_a_label_and_a_title(path):
    first_md = next(c for c in load(path)["cells"] if c["cell_type"] == "markdown")
    lines = source(first_md).splitlines()
    assert re.fullmatch(r"\([a-z0-9-]+\)=", lines[0])
    assert lines[1].startswith("# ")

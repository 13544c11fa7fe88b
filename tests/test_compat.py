"""The compatibility matrix's data (book/data/compat) is current, complete and believed.

`nox` (noxfile.py) writes one file per session; `book/compat.ipynb` renders them. These tests
fail when a file was written by older probes, when a session's file is missing, when this
installation observes something other than the matrix's pinned session did, or when a page
names a version boundary that no session ran.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re

import pytest

from demos import compat

from book_layout import ROOT

DATA = ROOT / "book" / "data" / "compat"
MATRIX = compat.load(DATA)
PINNED = "python-3.11"  # the floor interpreter with every pin: what `make test` runs


def _nox_sessions() -> set[str]:
    """Session names from noxfile.py, read without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(ValueError):
                values[node.targets[0].id] = ast.literal_eval(node.value)
    names = {f"python-{v}" for v in values["PYTHONS"]}
    names |= {f"{lib}-{pin}" for lib, pin, _ in values["LIBRARY_CASES"]}
    return names


def test_every_matrix_session_has_written_its_observations():
    assert {d["session"] for d in MATRIX} == _nox_sessions()


@pytest.mark.parametrize("data", MATRIX, ids=[d["session"] for d in MATRIX])
def test_observations_were_written_by_the_probes_as_they_are_now(data):
    assert data["probe_code"] == compat.probe_code_hash(), (
        f"book/data/compat/{data['session']}.json is older than the probes that wrote it: "
        f"run `nox -s {data['session']}`"
    )


@pytest.mark.parametrize("data", MATRIX, ids=[d["session"] for d in MATRIX])
def test_each_library_session_changed_exactly_its_one_library(data):
    pinned = next(d for d in MATRIX if d["session"] == PINNED)["versions"]
    changed = {k for k in compat.LIBRARIES if data["versions"][k] != pinned[k]}
    library = data["session"].partition("-")[0]
    assert changed == ({library} if library in compat.LIBRARIES else set())


def test_this_installation_observes_what_the_pinned_session_recorded():
    pinned = next(d for d in MATRIX if d["session"] == PINNED)
    observed = json.loads(json.dumps(compat.observe_all()))
    assert observed["versions"] == pinned["versions"]
    assert observed["probes"] == pinned["probes"]


#: "tokenizers 0.23.1", "Python 3.12", "onnxruntime ≥ 1.19", "numpy 1.26": a version claim.
CLAIM = re.compile(r"\b(tokenizers|onnxruntime|numpy|NumPy|Python|CPython)\s*(?:[≤≥<>]=?\s*)?"
                   r"(\d+\.\d+(?:\.\d+)?)\b")


def _pages() -> dict[str, str]:
    """The book's own words: every page, less what it quotes of others (its further reading,
    the references page), where a thread's versions are the thread's, not the book's claim."""
    pages = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        pages[path.name] = text.split("## Further reading")[0]
    for path in sorted((ROOT / "book").glob("*.md")):
        if path.name != "references.md":
            pages[path.name] = path.read_text(encoding="utf-8")
    return pages


def _ran(library: str, version: str) -> bool:
    key = {"numpy": "numpy", "NumPy": "numpy", "CPython": "python"}.get(library, library.lower())
    return any(d["versions"][key] == version or d["versions"][key].startswith(version + ".")
               for d in MATRIX)


@pytest.mark.parametrize("page", sorted(_pages()))
def test_every_version_a_page_names_was_run_by_the_matrix(page):
    claims = {(m.group(1), m.group(2)) for m in CLAIM.finditer(_pages()[page])}
    missing = sorted(f"{lib} {ver}" for lib, ver in claims if not _ran(lib, ver))
    assert not missing, f"{page} names versions no matrix session ran: {missing}"

"""The compatibility matrix's data (book/data/compat) is current, complete and believed.

`nox` (noxfile.py) writes one file per session; `book/compat.ipynb` renders them. These tests
fail when a file was written by older probes, when a session's file is missing, when this
installation observes something other than the matrix's session for its Python recorded, when a
page's stored output names a behaviour its Python's record contradicts, or when a page names a
version boundary that no session ran.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re

import pytest

from demos import compat, matrix

from book_layout import ROOT

DATA = ROOT / "book" / "data" / "compat"
MATRIX = compat.load(DATA)
#: The floor interpreter with every pin: the library sessions change one library from it.
PINNED = "python-3.11"


def _noxfile_values() -> dict:
    """noxfile.py's literal assignments (PYTHONS, LIBRARY_CASES), read without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            with contextlib.suppress(ValueError):
                values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def _nox_sessions() -> set[str]:
    """Session names from noxfile.py."""
    values = _noxfile_values()
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


def _record_for(installed: dict[str, str]) -> dict:
    """The matrix's record for this interpreter: the ``python-3.N`` session of its minor
    version (the sessions that change a library run on the floor interpreter)."""
    minor = _minor(installed["python"])
    found = [d for d in MATRIX if d["session"] == f"python-{minor}"]
    assert found, (f"no record for Python {minor} in book/data/compat (sessions: "
                   f"{sorted(d['session'] for d in MATRIX)}): the book supports CPython "
                   f"{', '.join(_noxfile_values()['PYTHONS'])}")
    return found[0]


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def test_this_installation_observes_what_the_matrix_recorded_for_its_python():
    """Run every probe here and compare with the record of this Python's matrix session:
    the same minor Python (a reader's 3.12.3 is checked against the matrix's 3.12.1), the
    same build and the same pinned libraries, and then the same behaviour, probe by probe."""
    observed = json.loads(json.dumps(compat.observe_all()))
    record = _record_for(observed["versions"])
    here, there = dict(observed["versions"]), dict(record["versions"])
    assert _minor(here.pop("python")) == _minor(there.pop("python"))
    assert here == there, f"this installation is not the pinned one of {record['session']}"
    assert observed["probes"] == record["probes"], f"observed differently from {record['session']}"


def test_each_python_session_ran_the_python_it_is_named_for():
    for data in MATRIX:
        if data["session"].startswith("python-"):
            assert data["session"] == f"python-{_minor(data['versions']['python'])}"


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


# Stored outputs. `make test` compares every stored output not tagged nbval-ignore-output with
# what the reader's Python prints now, on 3.11, 3.12 and 3.13 alike: an output that names one
# Python would fail on the others. So a compared output names every Python the matrix ran (a
# line per version, read from the records by `demos.matrix.recorded`), or none; what the
# reader's own Python does is shown in an ignored cell, and checked here against the record
# of the Python that printed it.

#: "Python 3.11", "Python 3.12.1": the Python an output names.
PYTHON_NAMED = re.compile(r"\bPython (3\.\d+)(?:\.\d+)?\b")


def _stored_cells() -> list[tuple[str, int, list[str], str, str]]:
    """(notebook, nbval's cell number, tags, source, stored text output) for every code cell."""
    cells = []
    paths = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "book").glob("*.ipynb"))
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        for number, cell in enumerate(code):
            text = []
            for output in cell.get("outputs", []):
                text.append("".join(output.get("text", "")))
                for kind in ("text/plain", "text/markdown"):
                    text.append("".join(output.get("data", {}).get(kind, "")))
            cells.append((f"{path.parent.name}/{path.name}", number,
                          cell["metadata"].get("tags", []), "".join(cell["source"]),
                          "\n".join(text)))
    return cells


def test_a_compared_output_names_every_python_the_matrix_ran_or_none():
    every = {_minor(d["versions"]["python"]) for d in MATRIX}
    wrong = [f"{nb} cell {n} names Python {sorted(named)}"
             for nb, n, tags, _, text in _stored_cells()
             if "nbval-ignore-output" not in tags and "nbval-skip" not in tags
             and (named := set(PYTHON_NAMED.findall(text))) and named != every]
    assert not wrong, ("a compared output that names some Pythons and not others fails nbval "
                       f"on the others: tag it nbval-ignore-output, or print every record: {wrong}")


def test_an_ignored_output_names_a_python_the_matrix_has_a_record_for():
    recorded = {_minor(d["versions"]["python"]) for d in MATRIX}
    wrong = [f"{nb} cell {n}: Python {sorted(named - recorded)}"
             for nb, n, _, _, text in _stored_cells()
             if (named := set(PYTHON_NAMED.findall(text)) - recorded)]
    assert not wrong, f"stored outputs written on a Python the matrix never ran: {wrong}"


def test_the_stored_cached_property_claim_agrees_with_the_record_of_its_python():
    """Chapter 2 prints how many times 8 threads ran a cached_property getter on the Python
    that executed the page; that Python's matrix record must have seen the same."""
    (text,) = [text for nb, _, _, source, text in _stored_cells()
               if nb == "notebooks/02_publication.ipynb"
               and "versions.cached_property_getter_runs()" in source]
    found = re.search(r"Python (3\.\d+): 8 threads reading one cached_property ran its getter "
                      r"(\d+) time\(s\)", text)
    assert found, f"chapter 2's cached_property cell printed something else: {text!r}"
    minor, runs = found.group(1), int(found.group(2))
    record = next(d for d in MATRIX if d["session"] == f"python-{minor}")
    observed = record["probes"]["publication"]["cached_property_lock"]["observed"]
    assert observed == ("getter runs once: locked" if runs == 1
                        else f"getter runs {runs} times for 8 threads: no lock")


def test_a_page_reads_every_python_record_oldest_first_from_any_working_folder(tmp_path,
                                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)  # a kernel started anywhere still finds the checkout's records
    assert matrix.data_folder() == DATA
    rows = matrix.recorded("publication", "cached_property_lock")
    pythons = sorted((d for d in MATRIX if d["session"].startswith("python-")),
                     key=lambda d: [int(p) for p in d["versions"]["python"].split(".")])
    assert rows == [(f"Python {d['versions']['python']}",
                     d["probes"]["publication"]["cached_property_lock"]["observed"])
                    for d in pythons]
    with pytest.raises(FileNotFoundError, match=r"no python-\*\.json record"):
        matrix.recorded("publication", "cached_property_lock", folder=tmp_path)

"""Conventions every stored notebook keeps, so the site, Colab, Binder and nbval agree.

The rules are CONTRIBUTING.md's "Notebooks: four front-ends, one source".
"""

from __future__ import annotations

import json
import re
import sys

import nbformat
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
    rerun = f"re-execute it: make notebooks NB={path.relative_to(ROOT)}"
    assert None not in counts, f"some cells were never executed: {rerun}"
    assert counts == sorted(counts), f"cells were executed out of order: {rerun}"
    for cell in cells:
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        if errors:
            assert RAISES & set(cell["metadata"].get("tags", [])), source(cell)[:200]


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_is_in_the_table_of_contents(path):
    assert f"notebooks/{path.stem}" in toc_files(), (
        f"_toc.yml must list `- file: notebooks/{path.stem}` (chapters under \"The pitfalls\", "
        f"in chapter order; `make chapter` adds it)")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_does_not_edit_sys_path_or_store_svg(path):
    nb = load(path)
    for cell in code_cells(nb):
        assert not re.search(r"sys\.path\.(insert|append)", source(cell))
        for output in cell["outputs"]:
            assert "image/svg+xml" not in output.get("data", {})


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_opens_with_a_title(path):
    first_md = next(c for c in load(path)["cells"] if c["cell_type"] == "markdown")
    assert source(first_md).startswith("# ")


#: What plain Jupyter (JupyterLab, Notebook 7, Colab) shows as raw text: MyST directives
#: (fenced or colon), roles and targets. The site is the only front-end that reads them.
MYST_ONLY = re.compile(
    r"^\s*(`{3,}|~{3,})\s*\{[\w:-]+\}"  # ```{directive}
    r"|^\s*:{3,}"  # ::: fences (colon_fence)
    r"|\{[\w:-]+\}`[^`]*`"  # {role}`...`
    r"|^\([\w-]+\)=\s*$"  # (label)=
    r"|^\s*:[\w-]+:\s",  # a directive option line such as :pyobject: X
    re.M,
)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_markdown_cells_are_commonmark_that_every_front_end_renders(path):
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "markdown":
            found = MYST_ONLY.search(source(cell))
            assert not found, f"MyST-only markup {found.group(0)!r} in: {source(cell)[:120]!r}"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_is_normalised_setup_and_solutions_collapsed_no_widget_state(path):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from normalise_notebooks import normalise
    finally:
        sys.path.pop(0)
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    assert nbformat.writes(normalise(nb)) == before, (
        f"not normalised: make notebooks NB={path.relative_to(ROOT)} (it normalises)")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_notebook_figure_code_never_picks_its_own_colours(path):
    """Colours come from demos.plotting, by role (CONTRIBUTING.md, Figures)."""
    for cell in code_cells(load(path)):
        found = re.search(r"\b(color|colors|c|cmap|facecolor)\s*=", source(cell))
        assert not found, f"a figure picks its own colour: {source(cell)[:160]!r}"


def _exercises(nb):
    """[(heading, stub, check, solution)] in order, from the exercise tags."""
    found, current = [], {}
    for cell in nb["cells"]:
        tags = set(cell["metadata"].get("tags", []))
        text = source(cell)
        heading = re.search(r"^### Exercise.*$", text, re.M)
        if cell["cell_type"] == "markdown" and heading:
            current = {"heading": heading.group(0)}
            found.append(current)
        for role in ("exercise", "exercise-check", "solution"):
            if role in tags:
                current[role] = cell
    return found


def _text_output(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            parts.append("".join(o["text"]))
        elif "data" in o:
            parts.append("".join(o["data"].get("text/plain", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_every_exercise_has_stub_check_and_a_collapsed_solution_in_a_function(path):
    exercises = _exercises(load(path))
    assert exercises, "no `### Exercise` heading"
    for ex in exercises:
        assert {"exercise", "exercise-check", "solution"} <= set(ex), ex["heading"]
        solution = source(ex["solution"])
        assert solution.startswith("#@title Solution"), ex["heading"]
        top_level = re.findall(r"^(?:class|def)\s+(\w+)|^(\w+)\s*=", solution, re.M)
        names = {a or b for a, b in top_level}
        assert all(n.startswith("solution") for n in names), (
            f"{ex['heading']}: the solution defines {sorted(names)} at top level; define the "
            "answer inside a `def solution_…()` so Run All never overwrites the reader's names"
        )


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_every_stub_is_stored_failing_and_every_solution_passing(path):
    """With strict nbval re-running both, this proves stub fails and solution passes."""
    for ex in _exercises(load(path)):
        assert " — not yet: " in _text_output(ex["exercise-check"]), ex["heading"]
        assert " — passed: " in _text_output(ex["solution"]), ex["heading"]


#: book/intro.ipynb runs every landed chapter and lists each one's symptom from the cheat sheet.
FRONT_PAGE = ROOT / "book" / "intro.ipynb"
#: The template's placeholder, built so that this file does not contain it (a clean tree greps
#: empty for it, CONTRIBUTING.md "A new chapter").
PLACEHOLDER = "TODO" + "(template)"


def _stored_text(path) -> str:
    """Every text a notebook's outputs store (streams, text/plain, text/markdown)."""
    parts = []
    for cell in code_cells(load(path)):
        for o in cell["outputs"]:
            if o["output_type"] == "stream":
                parts.append("".join(o["text"]))
            for kind in ("text/plain", "text/markdown"):
                parts.append("".join(o.get("data", {}).get(kind, "")))
    return "\n".join(parts)


def test_the_front_page_stores_a_run_of_every_chapter_in_the_catalogue():
    """A new chapter makes the front page's stored grid and list stale; nbval would only say
    "Cell outputs differ". This says what to do, in seconds."""
    from demos import catalogue

    expected = {f"{p.chapter:02d}_{p.name}" for p in catalogue.pitfalls()}
    text = _stored_text(FRONT_PAGE)
    linked = set(re.findall(r"notebooks/(\d\d_\w+)\.ipynb", text))
    totals = {int(t) for t in re.findall(r"\bin \d+ of (\d+) chapters\b", text)}
    assert linked or totals, "book/intro.ipynb's outputs name no chapter and no count: " \
                             "update this test to what the front page shows"
    todo = ("re-execute book/intro.ipynb (make notebooks NB=book/intro.ipynb) after the new "
            "chapter's cheat-sheet block is filled in, then check it with strict nbval")
    if linked:
        assert linked == expected, (f"book/intro.ipynb's stored run shows {sorted(linked)}, "
                                    f"the catalogue has {sorted(expected)}: {todo}")
    assert totals <= {len(expected)}, (f"book/intro.ipynb's stored run counts {sorted(totals)} "
                                       f"chapters, the catalogue has {len(expected)}: {todo}")


def test_the_front_page_stores_no_template_placeholder():
    """Re-executed before the cheat sheet is filled in, the front page stores its placeholder
    symptom in an output nbval does not compare."""
    assert PLACEHOLDER not in _stored_text(FRONT_PAGE), (
        f"book/intro.ipynb's outputs hold {PLACEHOLDER} text (from book/cheatsheet.md): replace "
        f"it in the cheat sheet, then re-execute book/intro.ipynb "
        f"(make notebooks NB=book/intro.ipynb)")

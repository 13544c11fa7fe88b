"""The pitfall contract (CONTRIBUTING.md), checked for every chapter that has landed."""

from __future__ import annotations

import inspect
import json
import re

import pytest

from demos import catalogue

from book_layout import ROOT, toc_files

LANDED = catalogue.pitfalls()
IDS = [p.name for p in LANDED]


@pytest.mark.parametrize("pitfall", LANDED, ids=IDS)
def test_broken_and_fixed_export_the_same_names_with_the_same_signatures(pitfall):
    broken, fixed = pitfall.impl("broken"), pitfall.impl("fixed")
    assert sorted(broken.__all__) == sorted(fixed.__all__)
    for name in broken.__all__:
        b, f = getattr(broken, name), getattr(fixed, name)
        if callable(b) and not (isinstance(b, type) and issubclass(b, BaseException)):
            assert inspect.signature(b) == inspect.signature(f), name


@pytest.mark.parametrize("pitfall", LANDED, ids=IDS)
def test_scenario_run_takes_the_implementation_first(pitfall):
    parameters = list(inspect.signature(pitfall.scenario.run).parameters)
    assert parameters[0] == "impl"


@pytest.mark.parametrize("pitfall", LANDED, ids=IDS)
def test_chapter_has_a_notebook_in_the_toc_and_a_cheat_sheet_row(pitfall):
    notebook = f"notebooks/{pitfall.chapter:02d}_{pitfall.name}"
    assert (ROOT / f"{notebook}.ipynb").exists(), (
        f"{notebook}.ipynb is missing: `make chapter NAME={pitfall.name} N={pitfall.chapter}` "
        f"writes one (CONTRIBUTING.md, \"A new chapter\")")
    assert notebook in toc_files(), (
        f"_toc.yml must list `- file: {notebook}` under \"The pitfalls\", in chapter order")
    sheet = (ROOT / "book" / "cheatsheet.md").read_text()
    assert re.search(rf"\{{doc\}}`(?:[^`<]*<)?\.\./{notebook}>?`", sheet), (
        f"book/cheatsheet.md needs a block headed ## {{doc}}`<title> <../{notebook}>` "
        f"with **Symptom.**, **How to detect.** and **Fix.** lines, in chapter order")


@pytest.mark.parametrize("pitfall", LANDED, ids=IDS)
def test_broken_and_fixed_modules_mark_their_lesson_lines(pitfall):
    assert "# PITFALL:" in inspect.getsource(pitfall.impl("broken"))
    assert "# FIX:" in inspect.getsource(pitfall.impl("fixed"))


def _notebook(pitfall) -> dict:
    path = ROOT / "notebooks" / f"{pitfall.chapter:02d}_{pitfall.name}.ipynb"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("pitfall", LANDED, ids=IDS)
def test_chapter_shows_three_figures_and_a_widget(pitfall):
    cells = [c for c in _notebook(pitfall)["cells"] if c["cell_type"] == "code"]
    figures = sum("image/png" in o.get("data", {}) for c in cells for o in c["outputs"])
    assert figures >= 3, (f"{figures} stored figures, at least 3 wanted (CONTRIBUTING.md, "
                          f"\"A chapter's arc\"); figures come from demos.plotting")
    widget_cells = [c for c in cells if "ipywidgets" in "".join(c["source"])
                    or "interact(" in "".join(c["source"])]
    assert widget_cells, ("no ipywidgets control: add an `interact(...)` cell tagged "
                          "nbval-ignore-output and remove-output, then a `widget-static` cell "
                          "(CONTRIBUTING.md, Interactive widgets)")
    assert all("nbval-ignore-output" in c["metadata"].get("tags", []) for c in widget_cells
               if "interact(" in "".join(c["source"]))


@pytest.mark.parametrize("pitfall", LANDED, ids=IDS)
def test_chapter_ends_with_three_exercises_and_further_reading(pitfall):
    cells = _notebook(pitfall)["cells"]
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    shape = "CONTRIBUTING.md, Exercises: `### Exercise N.k · Title`, stub, check, hint, solution"
    assert "## Exercises" in markdown, f"no `## Exercises` heading ({shape})"
    assert len(re.findall(r"^### Exercise \d+\.\d+", markdown, re.M)) >= 3, shape
    solutions = [c for c in cells if "solution" in c["metadata"].get("tags", [])]
    assert len(solutions) >= 3, f"fewer than 3 cells tagged `solution` ({shape})"
    assert "## Further reading" in markdown, (
        "no `## Further reading` heading: the chapter's references (book/references.md is "
        "written from it by tools/references.py)")
    assert len(re.findall(r"https://github\.com/[^)\s]+/(issues|pull)/\d+", markdown)) >= 3, (
        "Further reading must cite at least 3 GitHub issues or pull requests")


@pytest.mark.parametrize("pitfall", LANDED, ids=IDS)
def test_chapter_checks_its_exercises_in_code(pitfall):
    """Each exercise's check lives in demos.<pitfall>.exercises and returns a Verdict."""
    import importlib

    module = importlib.import_module(f"demos.{pitfall.name}.exercises")
    checks = [name for name in dir(module) if name.startswith("check_")]
    assert len(checks) >= 3, checks


@pytest.mark.parametrize("pitfall", LANDED, ids=IDS)
def test_chapter_figure_code_takes_colours_from_plotting(pitfall):
    """No hex colour outside demos.plotting: colours follow from a series' role."""
    package = ROOT / "src" / "demos" / pitfall.name
    for path in package.glob("*.py"):
        found = re.search(r"[\"']#[0-9A-Fa-f]{6}[\"']", path.read_text())
        assert not found, f"{path.name} picks its own colour {found.group(0)}"


#: CONTRIBUTING.md's limits ("The pitfall contract"): a reader diffs broken.py against
#: fixed.py, so both stay short.
LINE_LIMITS = {"broken.py": 150, "fixed.py": 150, "scenario.py": 200}
SHARED_MODULE_LIMIT = 300


def test_every_module_stays_within_its_line_limit():
    """Small modules with one job: past the limit, a piece wants a module of its own."""
    over = []
    for path in sorted((ROOT / "src" / "demos").rglob("*.py")):
        limit = LINE_LIMITS.get(path.name, SHARED_MODULE_LIMIT)
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            over.append(f"{path.relative_to(ROOT)}: {lines} lines, limit {limit}")
    assert not over, "\n".join([*over, "split a piece with a job of its own into a module "
                                 "(code shared by broken.py and fixed.py goes in _base.py)"])

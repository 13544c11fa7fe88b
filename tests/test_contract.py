"""The pitfall contract (DESIGN.md), checked for every chapter that has landed."""

from __future__ import annotations

import inspect

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
    assert (ROOT / f"{notebook}.ipynb").exists()
    assert notebook in toc_files()
    label = pitfall.name.replace("_", "-")
    assert f"{{ref}}`{label}`" in (ROOT / "book" / "cheatsheet.md").read_text()


@pytest.mark.parametrize("pitfall", LANDED, ids=IDS)
def test_broken_and_fixed_modules_mark_their_lesson_lines(pitfall):
    assert "# PITFALL:" in inspect.getsource(pitfall.impl("broken"))
    assert "# FIX:" in inspect.getsource(pitfall.impl("fixed"))

"""The line-level mutation run (tools/fix_lines.py, tools/line_mutants.py) finds and undoes
every ``# FIX:`` line, and tells a killed mutant from a surviving one."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fix_lines
import line_mutants

TOY = '''\
"""A toy fixed.py. The docstring may quote the marker: # FIX: not a marker."""
import threading

NOTE = "# FIX: nor is a string"
LOCK = threading.Lock()


def clamp(x: int, items: list[int], seen: list[int]) -> int:
    if x < 0:  # FIX: refuse negatives
        raise ValueError(x)
    for item in items:  # FIX: check every item
        seen.append(item)
    with LOCK:  # FIX: one at a time
        seen.append(x)
    try:
        x = int(x)
    except ValueError:  # FIX: a bad value is not fatal
        x = 0
    # FIX: the result doubled
    result = 2 * x
    return result  # FIX: never None
'''


def _toy_root(tmp_path: Path, test: str = "") -> Path:
    package = tmp_path / "src" / "demos" / "toy"
    package.mkdir(parents=True)
    (tmp_path / "src" / "demos" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "fixed.py").write_text(TOY)
    if test:
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "test_toy.py").write_text(textwrap.dedent(test))
    return tmp_path


def test_markers_are_comments_only_never_a_docstring_or_a_string():
    assert fix_lines.markers(TOY) == [9, 11, 13, 17, 19, 21]


def test_each_fix_line_gets_the_mutants_that_undo_its_statement(tmp_path, monkeypatch):
    monkeypatch.setattr(fix_lines, "TARGETED", ())
    marked, found = fix_lines.mutants(_toy_root(tmp_path))
    assert [line for _, line in marked] == [9, 11, 13, 17, 19, 21]
    got = {(m.line, m.kind): "".join(m.lines).strip() for m in found}
    assert got == {
        (9, "if False"): "if False:  # FIX: refuse negatives",
        (9, "if True"): "if True:  # FIX: refuse negatives",
        (11, "for in ()"): "for item in ():  # FIX: check every item",
        (13, "with removed"): "if True:",
        (17, "except ()"): "except ():  # FIX: a bad value is not fatal",
        (19, "pass"): "pass",  # a comment line marks the statement below it
        (21, "pass"): "pass",
    }
    for mutant in found:
        compile(mutant.apply(TOY), "fixed.py", "exec")  # every mutant is valid Python
        assert mutant.chapter == "toy"


def test_the_two_mutations_of_issue_30_are_generated_from_the_repository():
    marked, found = fix_lines.mutants()
    assert len(marked) >= 40
    assert not set(marked) - {(m.path, m.line) for m in found}  # every line has a mutant
    by_kind = {(m.path, m.kind): m for m in found}
    total = by_kind["src/demos/precision/fixed.py", "np.float64 -> np.float32"]
    assert "self._total += float(values.sum(dtype=np.float32))" in "".join(total.lines)
    cancel = by_kind["src/demos/batching/fixed.py", "job.cancel() -> pass"]
    assert cancel.source == "job.cancel()" and "".join(cancel.lines).strip() == "pass"
    assert line_mutants.selection(cancel) == (
        ("tests/test_batching.py", "tests/test_fix_lines.py"), "(fixed) and batching")


def test_a_targeted_mutation_whose_line_moved_away_is_refused(tmp_path):
    spec = fix_lines.Targeted("toy/fixed.py", "no such line", "a", "b", "why")
    with pytest.raises(ValueError, match=r"anchor 'no such line' must find one line"):
        fix_lines.targeted(_toy_root(tmp_path), spec)


def test_a_mutant_is_killed_by_a_failing_test_and_survives_a_blind_one(tmp_path, monkeypatch):
    root = _toy_root(tmp_path, '''\
        import pytest
        from demos.toy import fixed

        def test_fixed_refuses_negatives():
            with pytest.raises(ValueError):
                fixed.clamp(-1, [], [])

        def test_fixed_doubles_blindly():
            assert fixed.clamp(0, [], []) in (0, None)
    ''')
    monkeypatch.setattr(fix_lines, "TARGETED", ())
    _, found = fix_lines.mutants(root)
    by_kind = {(m.line, m.kind): m for m in found}
    nodes = line_mutants.baseline(root, ["tests/test_toy.py"], "fixed", 60)
    assert isinstance(nodes, list) and len(nodes) == 2
    killed = line_mutants.run_one(root, by_kind[9, "if False"], nodes, 60)
    assert (killed.verdict, killed.detail) == ("killed", "test_fixed_refuses_negatives")
    survived = line_mutants.run_one(root, by_kind[21, "pass"], nodes, 60)
    assert survived.verdict == "SURVIVED"
    assert (root / "src/demos/toy/fixed.py").read_text() == TOY  # restored after each run

"""Every exercise check tells right from wrong: the stub and the wrong-but-plausible answers
a learner (or an adversary) would write all get "not yet" with a message naming the mistake,
and the notebook's own solution gets "passed".

The stubs and solutions are read from the stored notebooks and run against the checks here,
without re-executing the notebooks. The wrong answers live in ``wrong_answers.py``.
"""

from __future__ import annotations

import ast
import json
import re
from functools import cache
from pathlib import Path

import pytest
from wrong_answers import WRONG

from demos.exercises import Verdict

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _source(cell) -> str:
    return "".join(cell["source"])


def _exercises_of(path: Path) -> list[dict[str, str]]:
    """[{number, stub, check, solution}] of one notebook, found by heading and tags."""
    found: list[dict[str, str]] = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        tags = set(cell["metadata"].get("tags", []))
        heading = re.search(r"^### Exercise (\S+)", _source(cell), re.M)
        if cell["cell_type"] == "markdown" and heading:
            found.append({"number": heading.group(1), "notebook": path.name})
        for role in ("exercise", "exercise-check", "solution"):
            if role in tags and found:
                found[-1][role] = _source(cell)
    return found


EXERCISES = [ex for path in NOTEBOOKS for ex in _exercises_of(path)]


def _imports(notebook: str) -> str:
    """The notebook's imports cell (tagged hide-input), without its ``%`` magics."""
    cells = json.loads((ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))["cells"]
    cell = next(c for c in cells if "hide-input" in c["metadata"].get("tags", []))
    return "\n".join(line for line in _source(cell).splitlines() if not line.startswith("%"))


@cache
def _namespace(notebook: str) -> dict:
    namespace: dict = {}
    exec(_imports(notebook), namespace)
    if "encoder=encoder" in "".join(ex.get("exercise-check", "") for ex in EXERCISES
                                   if ex["notebook"] == notebook):
        from demos.models import load_encoder

        namespace["encoder"] = load_encoder()
    return namespace


def _run_cell(source: str, namespace: dict):
    """Run a cell as Jupyter does; return the value of its last expression."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)


def test_the_notebooks_hold_the_30_exercises_that_wrong_answers_are_tried_on():
    numbers = [ex["number"] for ex in EXERCISES]
    assert len(numbers) == 30, numbers
    assert set(numbers) == {number for number, _, _, _ in WRONG}


def test_every_exercise_is_tried_with_at_least_three_wrong_answers():
    counts = {ex["number"]: 0 for ex in EXERCISES}
    for number, _, _, _ in WRONG:
        counts[number] += 1
    assert {n: c for n, c in counts.items() if c < 3} == {}


@pytest.mark.parametrize("ex", EXERCISES, ids=[ex["number"] for ex in EXERCISES])
def test_the_stub_gets_not_yet_and_the_solution_passes(ex):
    namespace = dict(_namespace(ex["notebook"]))
    _run_cell(ex["exercise"], namespace)
    stub = _run_cell(ex["exercise-check"], namespace)
    assert isinstance(stub, Verdict) and not stub.passed, stub
    solution = _run_cell(ex["solution"], namespace)
    assert isinstance(solution, Verdict) and solution.passed, solution


@pytest.mark.parametrize(("number", "label", "answer", "named"), WRONG,
                         ids=[f"{n} {label}" for n, label, _, _ in WRONG])
def test_a_wrong_answer_gets_not_yet_with_a_message_naming_the_mistake(number, label, answer,
                                                                        named):
    verdict = answer()
    assert isinstance(verdict, Verdict) and verdict.exercise == number, verdict
    assert not verdict.passed, f"{label}: {verdict}"
    assert re.search(named, verdict.message), f"{label}: {verdict}"

"""Build the workshop kit (`make workshop`): a student edition, the answers, the guide.

Writes, into ``_build/workshop/`` (or ``--out``)::

    README.md            what is where, and the three steps of the day
    guide.md             the facilitator guide: book/workshop.md, its includes inlined
    student/*.ipynb      the notebooks as students get them: every cell tagged
                         ``solution`` removed (a pointer to the answers in its place),
                         every output cleared, the exercises, checks and hints kept, and
                         the pre-flight ``python -m demos doctor`` as the first cell a
                         student runs (after the Colab set-up cell, which must stay first)
    answers/answers.md   every exercise: its task, the solution code, the verdict it gets
    answers/*.ipynb      the book's notebooks as stored: executed, solutions included

The student notebooks still run top to bottom: solutions are defined inside functions
(CONTRIBUTING.md, "Exercises"), so nothing later depends on them, and each check prints
``Exercise N.k — not yet: …`` until the student's code passes.

Usage: python tools/workshop.py [--out DIR] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from normalise_notebooks import normalise  # noqa: E402

DEFAULT_OUT = ROOT / "_build" / "workshop"
GUIDE = ROOT / "book" / "workshop.md"

#: The first cell a student runs: the pre-flight, with the kernel's own interpreter (a bare
#: ``python`` on PATH may be another one than the notebook's).
DOCTOR_SOURCE = "import sys\n\n!{sys.executable} -m demos doctor"
DOCTOR_INTRO = (
    "> **Pre-flight.** Run the next cell first. It checks this machine offline (Python, "
    "the pinned packages, the model, one encode against the expected embeddings) and "
    "prints one line per check. Show your facilitator the last line: it must end with "
    "`ready` (WARN lines are fine, FAIL lines are not)."
)
ROLES = ("exercise", "exercise-check", "solution")


def tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def exercise_task(cell: dict) -> str:
    """From a markdown cell's last ``### Exercise`` heading on (it may follow other text,
    e.g. "## Rules of thumb … ## Exercises"); "" when the cell has none."""
    if cell.get("cell_type") != "markdown":
        return ""
    starts = [m.start() for m in re.finditer(r"^### Exercise", _source(cell), re.M)]
    return _source(cell)[starts[-1]:] if starts else ""


def exercise_number(heading: str) -> str:
    found = re.match(r"###\s+Exercise\s+(\w+\.\d+)", heading)
    return found.group(1) if found else "?"


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student edition of one notebook (a new object; ``nb`` is left alone)."""
    nb = normalise(copy.deepcopy(nb))  # the Colab set-up cell as the book keeps it
    cells, heading, inserted_doctor = [], "", False
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None)
    for index, cell in enumerate(nb.cells):
        task = exercise_task(cell)
        if task:
            heading = task.splitlines()[0]
        if "solution" in tags(cell):
            pointer = nbformat.v4.new_markdown_cell(
                f"> **Solution.** Not in the student edition: your facilitator has it "
                f"(answers.md, Exercise {exercise_number(heading)}).")
            pointer["id"] = f"{cell.get('id', index)}-removed"[:64]
            cells.append(pointer)
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        cells.append(cell)
        if index == first_code and not inserted_doctor:
            cells += _doctor_cells()
            inserted_doctor = True
    if not inserted_doctor:
        cells[:0] = _doctor_cells()
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    return nb


def _doctor_cells() -> list[nbformat.NotebookNode]:
    intro = nbformat.v4.new_markdown_cell(DOCTOR_INTRO)
    intro["id"] = "preflight-intro"
    cell = nbformat.v4.new_code_cell(DOCTOR_SOURCE)
    cell["id"] = "preflight"
    cell.metadata["tags"] = ["doctor"]
    return [intro, cell]


def exercises(nb: nbformat.NotebookNode) -> list[dict]:
    """[{heading, task, exercise, exercise-check, hint, solution}] in order (cell sources;
    ``verdict``: the solution's stored output)."""
    found: list[dict] = []
    current: dict = {}
    for cell in nb.cells:
        text = _source(cell)
        task = exercise_task(cell)
        if task:
            current = {"heading": task.splitlines()[0], "task": task}
            found.append(current)
            continue
        if not current:
            continue
        if cell.cell_type == "markdown" and text.lstrip().startswith("> **Hint"):
            current["hint"] = text
        for role in ROLES:
            if role in tags(cell):
                current[role] = text
                if role == "solution":
                    current["verdict"] = _text_outputs(cell)
    return found


def _text_outputs(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(_source({"source": output.get("text", "")}))
        elif "data" in output:
            parts.append(_source({"source": output["data"].get("text/plain", "")}))
    return "\n".join(p.strip() for p in parts if p.strip())


def answers_markdown(notebooks: Iterable[Path]) -> str:
    """The answers sheet: per notebook, per exercise, the task, the solution, its verdict."""
    lines = ["# Answers", "",
             "Every exercise of the student edition with the book's solution and the verdict "
             "its check gives. The solutions are also in `answers/*.ipynb` (executed).", ""]
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        found = exercises(nb)
        if not found:
            continue
        title = next((_source(c).splitlines()[0].lstrip("# ").strip() for c in nb.cells
                      if c.cell_type == "markdown" and _source(c).startswith("# ")), path.stem)
        lines += [f"## {title} (`{path.name}`)", ""]
        for ex in found:
            lines += [ex["heading"], ""]
            task = ex["task"].split("\n", 1)[1].strip() if "\n" in ex["task"] else ""
            if task:
                lines += [task, ""]
            if "hint" in ex:
                lines += [ex["hint"], ""]
            if "solution" in ex:
                lines += ["```python", ex["solution"].rstrip(), "```", ""]
            if ex.get("verdict"):
                lines += ["Its check prints:", "", "```text", ex["verdict"], "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def inline_includes(text: str, base: Path) -> str:
    """Replace MyST ``{include}`` directives by the file they include (for a plain .md)."""
    pattern = re.compile(r"^```\{include\}\s+(\S+)\s*\n(?:.*\n)*?```\s*$", re.M)

    def include(match: re.Match) -> str:
        target = (base / match.group(1)).resolve()
        return target.read_text(encoding="utf-8").strip() if target.is_file() else ""

    text = pattern.sub(include, text)
    text = re.sub(r"^\([\w-]+\)=\s*\n", "", text, flags=re.M)  # MyST targets
    text = re.sub(r"\{(?:ref|doc)\}`([^`]+)`", r"the book's `\1` page", text)  # MyST roles
    return re.sub(r"\]\(\.\./notebooks/([\w.-]+\.ipynb)\)", r"](student/\1)", text)


def build(out: Path, notebooks: Sequence[Path], guide: Path = GUIDE) -> dict[str, list[Path]]:
    """Write the kit into ``out`` (replacing what was there); return what was written."""
    if out.exists():
        shutil.rmtree(out)
    (out / "student").mkdir(parents=True)
    (out / "answers").mkdir()
    written: dict[str, list[Path]] = {"student": [], "answers": [], "guide": []}
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        target = out / "student" / path.name
        nbformat.write(student_notebook(nb), target)
        written["student"].append(target)
        shutil.copyfile(path, out / "answers" / path.name)
        written["answers"].append(out / "answers" / path.name)
    answers = out / "answers" / "answers.md"
    answers.write_text(answers_markdown(notebooks), encoding="utf-8")
    written["answers"].append(answers)
    if guide.is_file():
        (out / "guide.md").write_text(inline_includes(guide.read_text(encoding="utf-8"),
                                                      guide.parent), encoding="utf-8")
        written["guide"].append(out / "guide.md")
    (out / "README.md").write_text(_readme(notebooks), encoding="utf-8")
    return written


def _readme(notebooks: Sequence[Path]) -> str:
    names = "\n".join(f"- `student/{p.name}`" for p in notebooks)
    return f"""# Inference Pitfalls: workshop kit

Built by `make workshop` from the book's repository.

- `guide.md`: the facilitator guide (objectives, timings, plans, common questions).
- `student/`: the notebooks to hand out. No solutions, no outputs; the first cell to run
  is the pre-flight (`python -m demos doctor`).
- `answers/answers.md`: every exercise with its solution; `answers/*.ipynb`: the
  executed notebooks with solutions, for the facilitator.

The student notebooks need the book's package installed (see the guide, "Install, offline
included"). The notebooks:

{names}
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    written = build(args.out, notebooks)
    count = sum(len(exercises(nbformat.read(p, as_version=4))) for p in notebooks)
    print(f"workshop kit: {len(written['student'])} student notebooks, {count} exercises, "
          f"guide {'written' if written['guide'] else 'MISSING (book/workshop.md)'}, "
          f"answers in {args.out.name}/answers/")
    try:
        shown = args.out.resolve().relative_to(ROOT)
    except ValueError:
        shown = args.out
    print(f"Built: {shown}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

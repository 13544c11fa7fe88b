"""`make workshop` (tools/workshop.py): the student edition, the answers and the guide."""

from __future__ import annotations

import json
import re
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from book_layout import ROOT, notebooks

sys.path.insert(0, str(ROOT / "tools"))
try:
    import workshop
finally:
    sys.path.pop(0)

SETUP = (ROOT / "book" / "_colab_setup.py").read_text().strip()


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _out_text(cell) -> str:
    return workshop._text_outputs(cell)


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    out = tmp_path_factory.mktemp("workshop")
    workshop.build(out, notebooks())
    return out


def test_the_kit_has_a_student_notebook_and_an_answer_for_every_notebook(kit):
    names = sorted(p.name for p in notebooks())
    assert sorted(p.name for p in (kit / "student").glob("*.ipynb")) == names
    assert sorted(p.name for p in (kit / "answers").glob("*.ipynb")) == names
    assert (kit / "answers" / "answers.md").read_text().startswith("# Answers")
    assert (kit / "README.md").is_file()


@pytest.mark.parametrize("path", notebooks(), ids=[p.name for p in notebooks()])
def test_student_notebook_has_no_solution_no_output_and_the_doctor_first(kit, path):
    nb = nbformat.read(kit / "student" / path.name, as_version=4)
    nbformat.validate(nb)
    assert not [c for c in nb.cells if "solution" in workshop.tags(c)]
    for cell in _code(nb):
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]
    first, second = _code(nb)[:2]
    assert first.source.strip() == SETUP  # Colab installs the package before the doctor
    assert "-m demos doctor" in second.source and "doctor" in workshop.tags(second)
    assert "widgets" not in nb.metadata


@pytest.mark.parametrize("path", notebooks(), ids=[p.name for p in notebooks()])
def test_every_exercise_stub_check_and_hint_survives(kit, path):
    book = workshop.exercises(nbformat.read(path, as_version=4))
    student = workshop.exercises(nbformat.read(kit / "student" / path.name, as_version=4))
    assert len(student) == len(book)
    for mine, theirs in zip(student, book, strict=True):
        for key in ("heading", "task", "exercise", "exercise-check", "hint"):
            assert mine.get(key) == theirs.get(key), (theirs["heading"], key)
        assert "solution" not in mine


def test_answers_sheet_holds_every_solution(kit):
    answers = (kit / "answers" / "answers.md").read_text()
    for path in notebooks():
        for ex in workshop.exercises(nbformat.read(path, as_version=4)):
            assert ex["heading"] in answers
            assert ex["solution"].rstrip() in answers


def test_guide_is_the_book_page_with_its_includes_inlined(kit):
    guide = kit / "guide.md"
    if not workshop.GUIDE.is_file():
        pytest.skip("book/workshop.md has not landed")
    text = guide.read_text()
    assert "{include}" not in text and "{ref}" not in text and "../notebooks/" not in text
    assert "python -m demos doctor" in text
    assert "| notebook |" in text  # the measured run-time table, inlined


def test_an_exercise_heading_after_other_text_in_its_cell_is_still_found():
    cell = nbformat.v4.new_markdown_cell("## Rules of thumb\n\n- one\n\n## Exercises\n\n"
                                         "### Exercise H.2 · Title\n\nThe task.")
    assert workshop.exercise_task(cell) == "### Exercise H.2 · Title\n\nThe task."
    assert workshop.exercise_number("### Exercise H.2 · Title") == "H.2"


def _toy_notebook() -> nbformat.NotebookNode:
    """The exercise shape of CONTRIBUTING.md, in a notebook that runs in a second."""
    cells = [
        nbformat.v4.new_markdown_cell("# A toy chapter"),
        nbformat.v4.new_code_cell(SETUP, metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("%xmode Minimal\nfrom demos import exercises",
                                  metadata={"tags": ["hide-input"]}),
        nbformat.v4.new_markdown_cell("## Exercises"),
        nbformat.v4.new_markdown_cell("### Exercise 9.1 · Return two\n\nMake `answer()` "
                                      "return 2."),
        nbformat.v4.new_code_cell("def answer():\n    return 1",
                                  metadata={"tags": ["exercise"]}),
        nbformat.v4.new_code_cell(
            "def check_1(fn):\n"
            "    got = fn()\n"
            "    if got == 2:\n"
            "        return exercises.passed('9.1', 'answer() returns 2')\n"
            "    return exercises.failed('9.1', f'answer() returned {got}, not 2')\n\n"
            "check_1(answer)", metadata={"tags": ["exercise-check"]}),
        nbformat.v4.new_markdown_cell("> **Hint.** One character."),
        nbformat.v4.new_code_cell(
            "#@title Solution 9.1 (click to show)\ndef solution_9_1():\n"
            "    def answer():\n        return 2\n    return answer\n\n"
            "check_1(solution_9_1())", metadata={"tags": ["solution"]}),
        nbformat.v4.new_markdown_cell("## Further reading"),
    ]
    return nbformat.v4.new_notebook(cells=cells)


def _execute(nb, timeout=120) -> nbformat.NotebookNode:
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    return nb


def test_a_student_notebook_runs_top_to_bottom_and_its_check_says_not_yet():
    student = _execute(workshop.student_notebook(_toy_notebook()))
    doctor = next(c for c in _code(student) if "doctor" in workshop.tags(c))
    assert "— ready" in _out_text(doctor), _out_text(doctor)
    check = next(c for c in _code(student) if "exercise-check" in workshop.tags(c))
    assert "Exercise 9.1 — not yet: answer() returned 1, not 2" in _out_text(check)
    assert " — passed: " not in "\n".join(_out_text(c) for c in _code(student))
    answers = _execute(_toy_notebook())  # the book's version: the solution passes
    solution = next(c for c in _code(answers) if "solution" in workshop.tags(c))
    assert "Exercise 9.1 — passed: answer() returns 2" in _out_text(solution)


def _fastest_with_exercises():
    times_file = ROOT / "book" / "data" / "notebook_times.json"
    times = json.loads(times_file.read_text())["notebooks"] if times_file.is_file() else {}
    candidates = [p for p in notebooks()
                  if workshop.exercises(nbformat.read(p, as_version=4))]
    if not candidates:
        return None
    return min(candidates, key=lambda p: (times.get(p.name, {}).get("seconds", 1e9),
                                          p.stat().st_size))


@pytest.mark.slow
def test_the_fastest_real_student_notebook_runs_and_every_check_says_not_yet(kit):
    path = _fastest_with_exercises()
    if path is None:
        pytest.skip("no notebook has exercises yet")
    student = _execute(nbformat.read(kit / "student" / path.name, as_version=4), timeout=300)
    checks = [c for c in _code(student) if "exercise-check" in workshop.tags(c)]
    assert checks
    for cell in checks:
        assert " — not yet: " in _out_text(cell), (path.name, cell.source, _out_text(cell))


def test_the_measured_run_times_are_not_older_than_the_notebooks():
    """book/workshop.md quotes book/_generated/notebook_times.md; both come from
    tools/measure_notebooks.py, for the notebooks' code as it is now."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import measure_notebooks
    finally:
        sys.path.pop(0)
    data = json.loads(measure_notebooks.DATA.read_text())
    stale = [p.name for p in notebooks()
             if data["notebooks"].get(p.name, {}).get("sources_sha256")
             != measure_notebooks.sources_sha256(nbformat.read(p, as_version=4))]
    assert not stale, (
        f"book/data/notebook_times.json has no measurement of {', '.join(stale)} as it is "
        f"now (new, or its code changed): re-measure on a "
        f"quiet machine with `.venv/bin/python tools/measure_notebooks.py "
        f"{' '.join(f'notebooks/{name}' for name in stale)}` and commit "
        f"book/data/notebook_times.json and book/_generated/notebook_times.md")
    table = measure_notebooks.TABLE.read_text()
    assert table == measure_notebooks.render_table(data), (
        "book/_generated/notebook_times.md is not the table of book/data/notebook_times.json: "
        "re-run `.venv/bin/python tools/measure_notebooks.py NOTEBOOK` (it writes both)")
    assert "{include} _generated/notebook_times.md" in workshop.GUIDE.read_text()


def _guide_skips() -> dict[str, list[str]]:
    """{notebook stem: [section names the guide says to skip]} from book/workshop.md: the
    quoted names in each chapter's "Skip:" sentence (which may wrap over several lines)."""
    skips: dict[str, list[str]] = {}
    text = workshop.GUIDE.read_text(encoding="utf-8")
    for part in re.split(r"^### ", text, flags=re.M)[1:]:
        stem = re.match(r".*\(`(\w+)`\)\s*$", part.splitlines()[0])
        if not stem:
            continue
        skip = re.search(r"^Skip:(.*?)(?:\n\s*\n|\n[A-Z*])", part, re.M | re.S)
        found = re.findall(r'"([^"]+)"', skip.group(1)) if skip else []
        skips[stem.group(1)] = [" ".join(name.split()) for name in found]
    return skips


def test_every_section_the_guide_says_to_skip_exists_in_its_notebook():
    """The chapters change: the plans must name sections the notebooks still have."""
    skips = _guide_skips()
    stems = {p.stem for p in notebooks()}
    missing, extra = sorted(stems - set(skips)), sorted(set(skips) - stems)
    assert not missing, (
        f"book/workshop.md has no section for {missing}: add one under \"## Chapter by "
        f"chapter\", in chapter order, headed `### <the notebook's title> (`<stem>`)` with "
        f"a line `Skip: 90 minutes, \"<section>\" …; half day, …; full day, …` (quoted "
        f"names are the notebook's `##`/`###` headings); `make chapter` writes one")
    assert not extra, (f"book/workshop.md has sections for notebooks that do not exist: "
                       f"{extra}; rename or remove them")
    for stem, names in skips.items():
        nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
        headings = [line.lstrip("#").strip() for c in nb.cells if c.cell_type == "markdown"
                    for line in c.source.splitlines() if re.match(r"^#{2,3} ", line)]
        missing = [n for n in set(names) if not any(h.startswith(n) for h in headings)]
        assert not missing, (
            f"book/workshop.md, section {stem}: its Skip: line names sections "
            f"notebooks/{stem}.ipynb does not have: {missing}; quote the notebook's `##` or "
            f"`###` headings as they are")


def test_measure_notebooks_takes_a_notebook_with_or_without_its_folder_from_anywhere(
        tmp_path, monkeypatch):
    """The command test_workshop prints (`notebooks/NN_x.ipynb`) and the bare name both work."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import measure_notebooks
    finally:
        sys.path.pop(0)
    path = notebooks()[0]
    monkeypatch.chdir(tmp_path)
    for given in (f"notebooks/{path.name}", path.name, path.stem, str(path)):
        assert measure_notebooks.resolve(given) == path.resolve(), given
    with pytest.raises(ValueError, match=r"^NOTEBOOK must be a notebook in notebooks/ \(.*\), "
                                         r"got 'nope\.ipynb'$"):
        measure_notebooks.resolve("nope.ipynb")
    assert measure_notebooks.main(["nope.ipynb"]) == 2


def _plans() -> dict[str, list[tuple[str, int]]]:
    """{plan: [(row, minutes)]} from book/workshop.md's tables headed `| <plan> | minutes |`."""
    plans: dict[str, list[tuple[str, int]]] = {}
    current = None
    for line in workshop.GUIDE.read_text(encoding="utf-8").splitlines():
        head = re.match(r"^\| ([^|]+?) \| minutes \|$", line)
        if head:
            current = plans.setdefault(head.group(1), [])
            continue
        row = re.match(r"^\| (.+?) \| \**(\d+)\** \|$", line)
        if current is not None and row:
            current.append((row.group(1).strip("* "), int(row.group(2))))
        elif current is not None and not line.startswith("|"):
            current = None
    return plans


def test_every_workshop_plan_adds_up_to_its_slot_with_slack():
    slots = {"90 minutes": 90, "half a day": 210, "a full day": 480}
    plans = _plans()
    assert set(plans) == set(slots), sorted(plans)
    for plan, rows in plans.items():
        *parts, (last, total) = rows
        assert last == "total", (plan, last)
        assert sum(m for _, m in parts) == total == slots[plan], (plan, parts, total)
        assert dict(parts).get("slack", 0) >= 10, f"{plan}: no slack"
    assert "break" in dict(plans["half a day"]), "half a day needs a break"


def test_the_guide_states_the_sum_of_all_exercises_that_its_table_gives():
    text = workshop.GUIDE.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| ([^|\n]*) min \| ([^|\n]*) min \|$", text, re.M)
    table = ("book/workshop.md, the suggested-teaching-time table (`| notebook | suggested "
             "teaching time | with all its exercises |`)")
    missing = sorted({p.stem for p in notebooks()} - {name for name, _, _ in rows})
    assert not missing, (
        f"{table} has no row for {missing}: add one per notebook, in chapter order, as "
        f"`| `NN_name` | N min | N min |` (teaching time with one exercise; with all its "
        f"exercises), then update the sentence \"add up to N minutes\" to the new sum of "
        f"the right-hand column")
    unfilled = [name for name, one, every in rows
                if not (one.strip().isdigit() and every.strip().isdigit())]
    assert not unfilled, (
        f"{table}: fill in the minutes of the row(s) for {unfilled} (whole numbers, "
        f"`| `NN_name` | N min | N min |`), then update the sentence \"add up to N "
        f"minutes\" to the new sum of the right-hand column")
    assert len(rows) == len(notebooks()), f"{table}: one row per notebook, got {rows}"
    total = sum(int(every) for _, _, every in rows)
    stated = re.findall(r"add up to \d+ minutes", text)
    assert f"add up to {total} minutes" in text, (
        f"{table}: its right-hand column sums to {total} minutes; the full-day plan says "
        f"{stated}: write \"add up to {total} minutes\" there")

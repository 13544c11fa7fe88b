"""`make chapter` (tools/new_chapter.py) and what adding a chapter must keep true.

CONTRIBUTING.md, "A new chapter": the skeleton passes the contract and notebook tests as it
is written, and the checklist `make chapter` prints takes it to green. The slow tests prove
both in a temporary copy of the repository, so this working tree is never touched: the
last one runs every command of the checklist as printed, after writing the placeholders by
program, and ends with the front page, workshop and references checks green.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from demos import catalogue

from book_layout import ROOT

sys.path.insert(0, str(ROOT / "tools"))
try:
    import new_chapter
    import scratch
finally:
    sys.path.pop(0)

NAME, NUMBER = "zz_template_probe", 98


def _run(args: list[str], cwd: Path, timeout: float = 600, **env: str):
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=scratch.env_for(cwd, **env))
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout[-3000:]}\n" \
                                   f"{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> tuple[Path, str]:
    """A temporary copy of the repository with a throwaway chapter made by the generator.

    Its ``.venv`` is a link to this one, so the checklist's commands (``.venv/bin/…``,
    ``make``) run there as printed; ``make`` is told never to remake the install marker
    (``-o .venv/.installed``), so nothing is ever installed from the copy.
    """
    copy = scratch.copy_repo(tmp_path_factory.mktemp("new-chapter") / "repo")
    (copy / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    made = _run([sys.executable, str(copy / "tools" / "new_chapter.py"), NAME, str(NUMBER),
                 "--root", str(copy)], cwd=copy)
    return copy, made.stdout


@pytest.mark.slow
def test_a_new_chapter_passes_the_contract_and_notebook_tests_in_a_copy(probe):
    copy, made = probe
    assert f"wrote notebooks/{NUMBER}_{NAME}.ipynb" in made
    notebook = f"notebooks/{NUMBER}_{NAME}.ipynb"
    tests = _run([sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider",
                  "-q", "tests/test_contract.py", "tests/test_notebooks.py",
                  f"tests/test_{NAME}.py", "-k", NAME], cwd=copy)
    passed = int(re.search(r"(\d+) passed", tests.stdout).group(1))
    assert passed >= 25 and "failed" not in tests.stdout, tests.stdout
    _run([sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider", "-q",
          "--nbval", "--nbval-current-env", "--nbval-sanitize-with=tests/sanitize.cfg",
          "--nbval-cell-timeout=120", notebook], cwd=copy)
    listed = _run([sys.executable, "-m", "demos", "list"], cwd=copy)
    assert NAME in listed.stdout
    run = _run([sys.executable, "-m", "demos", "run", NAME], cwd=copy)
    assert "MANIFESTED" in run.stdout and "held" in run.stdout
    ruff = Path(sys.executable).with_name("ruff")
    _run([str(ruff), "check", f"src/demos/{NAME}", f"tests/test_{NAME}.py"], cwd=copy)
    toc = (copy / "_toc.yml").read_text()
    assert toc.index(f"notebooks/{NUMBER}_{NAME}") < toc.index("book/cheatsheet")


@pytest.mark.slow
def test_the_mutation_check_kills_the_skeleton_and_finds_a_test_that_cannot_see_its_fix(probe):
    """tools/mutants.py on the skeleton: killed; with a fixed-test that sees nothing: SURVIVED."""
    copy, _ = probe
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import mutants
    finally:
        sys.path.pop(0)
    killed = mutants.mutate_and_test(copy, NAME, timeout_s=120)
    assert (killed.verdict, killed.detail) == (
        "killed", "test_fixed_answers_every_request_with_every_set_of_knobs[1]")
    mirror = mutants.mutate_and_test(copy, NAME, keyword="broken", reverse=True)
    assert mirror.verdict == "killed", mirror
    tests = copy / "tests" / f"test_{NAME}.py"
    saved = tests.read_text()
    tests.write_text("from demos.zz_template_probe import fixed, scenario\n\n\n"
                     "def test_fixed_runs():\n    assert scenario.run(fixed).headline\n")
    try:
        survived = mutants.mutate_and_test(copy, NAME, timeout_s=120)
    finally:
        tests.write_text(saved)
    assert survived.verdict == "SURVIVED", survived
    assert (copy / "src" / "demos" / NAME / "fixed.py").read_text() != (
        copy / "src" / "demos" / NAME / "broken.py").read_text(), "fixed.py was not restored"


def _write_the_placeholders(copy: Path) -> list[str]:
    """What a contributor does by hand, done by program: every placeholder's text written
    (here: the marker removed, its description kept), and the prose that counts the
    chapters brought to the catalogue's count. Returns the files changed."""
    changed = []
    marker = re.escape(new_chapter.PLACEHOLDER) + r":? ?"
    guide = copy / "book" / "workshop.md"  # the new row's minutes, then the stated sum
    text = re.sub(rf"^(\| `\w+` \| ){marker}min \| {marker}min \|$", r"\g<1>30 min | 60 min |",
                  guide.read_text(encoding="utf-8"), flags=re.M)
    total = sum(int(m.group(1)) for m in re.finditer(r"^\| `\w+` \| \d+ min \| (\d+) min \|$",
                                                     text, re.M))
    guide.write_text(re.sub(r"add up to \d+ minutes", f"add up to {total} minutes", text),
                     encoding="utf-8")
    for folder in ("src", "tests", "notebooks", "book"):
        for path in sorted((copy / folder).rglob("*")):
            if path.suffix in {".py", ".md", ".ipynb", ".txt"} and path.is_file():
                text = path.read_text(encoding="utf-8")
                if re.search(marker, text):
                    path.write_text(re.sub(marker, "", text), encoding="utf-8")
                    changed.append(str(path.relative_to(copy)))
    count = NUMBER_WORDS[len(catalogue.pitfalls()) + 1]  # the copy has one chapter more
    for name in [*PROSE, "pyproject.toml"]:
        path = copy / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        new = COUNT.sub(lambda m, text=text: m.group(0) if any(
            p in text[m.end():m.end() + 80] for p in NOT_ABOUT_THE_BOOK) else (
            count.capitalize() if m.group(1)[0].isupper() else count)
            + m.group(0)[len(m.group(1)):], text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(name)
    return changed


@pytest.mark.slow
def test_the_checklist_takes_a_new_chapter_to_green_in_a_copy(probe):
    """CONTRIBUTING.md's "A new chapter", step by step, as `make chapter` prints it: after
    the placeholders are written, every command succeeds as printed, and the front page,
    workshop, references and count checks are green. Runs last: it changes the copy."""
    copy, made = probe
    steps = new_chapter.next_steps(NAME, NUMBER)
    for step in steps:
        assert step in made, f"`make chapter` did not print: {step}"
    changed = _write_the_placeholders(copy)
    assert "book/workshop.md" in changed and "book/cheatsheet.md" in changed, changed
    grep, *commands, everything = steps
    assert everything == "make test"  # the whole suite: this test is part of it
    found = subprocess.run(grep, shell=True, cwd=copy, capture_output=True, text=True,
                           timeout=60)
    assert found.returncode == 1 and not found.stdout, found.stdout  # nothing left
    took = {}
    for command in commands:
        args = shlex.split(command)
        if args[0] == "make":  # never remake the install marker from a copy
            args[1:1] = ["-o", ".venv/.installed"]
        start = time.perf_counter()
        _run(args, cwd=copy, timeout=900)
        took[command] = time.perf_counter() - start
    print("\n".join(f"{s:6.1f} s  {c}" for c, s in took.items()))
    page = (copy / "book" / "references.md").read_text(encoding="utf-8")
    assert f"<../notebooks/{NUMBER}_{NAME}>`" in page and "OWNER/REPO/issues/1" in page
    intro = (copy / "book" / "intro.ipynb").read_text(encoding="utf-8")
    assert f"{NUMBER}_{NAME}.ipynb" in intro and new_chapter.PLACEHOLDER not in intro


def test_the_generator_refuses_a_taken_or_malformed_name_and_number(tmp_path):
    landed = catalogue.pitfalls()[0]
    for name, number, message in [
        ("Bad-Name", 7, r"^NAME must be a lower-case Python identifier, got 'Bad-Name'$"),
        ("class", 7, r"^NAME must be a lower-case Python identifier, got 'class'$"),
        ("fresh", 0, r"^N must be an int from 1 to 99, got 0$"),
        (landed.name, 97, rf"^NAME must be new, got '{landed.name}': src/demos/"),
        ("fresh", landed.chapter, r"^N must be a free chapter number, got \d+: notebooks/"),
    ]:
        with pytest.raises(ValueError, match=message):
            new_chapter.check_arguments(ROOT, name, number)


def test_toc_and_cheatsheet_entries_go_in_chapter_order(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text(
        "root: book/intro\nparts:\n  - caption: The pitfalls\n    chapters:\n"
        "      - file: notebooks/01_a\n      - file: notebooks/03_c\n"
        "      - file: book/cheatsheet\n  - caption: Back matter\n    chapters:\n"
        "      - file: book/references\n")
    (tmp_path / "book" / "cheatsheet.md").write_text(
        "# Cheat sheet\n\n## {doc}`../notebooks/01_a`\n\nA.\n\n## {doc}`../notebooks/03_c`\n\n"
        "C.\n")
    new_chapter.add_to_toc(tmp_path, "04_d")
    new_chapter.add_to_cheatsheet(tmp_path, "02_b", 2)
    toc = (tmp_path / "_toc.yml").read_text().split()
    assert toc.index("notebooks/04_d") == toc.index("notebooks/03_c") + 3
    assert toc.index("notebooks/04_d") < toc.index("book/cheatsheet")
    sheet = (tmp_path / "book" / "cheatsheet.md").read_text()
    assert sheet.index("01_a`") < sheet.index("02_b>`") < sheet.index("03_c`")
    new_chapter.add_to_toc(tmp_path, "04_d")  # idempotent
    assert (tmp_path / "_toc.yml").read_text().count("04_d") == 1


def test_the_workshop_section_goes_in_chapter_order_and_its_skip_line_parses(tmp_path):
    (tmp_path / "book").mkdir()
    guide = tmp_path / "book" / "workshop.md"
    guide.write_text("# Guide\n\n| notebook | teaching | all |\n|---|---|---|\n"
                     "| `how_to_read` | 15 min | 25 min |\n| `01_a` | 40 min | 75 min |\n"
                     "| `03_c` | 40 min | 70 min |\n\nThey add up to 170 minutes.\n\n"
                     "## Chapter by chapter\n\n### H (`how_to_read`)\n\nH.\n\n"
                     "### A (`01_a`)\n\nA.\n\n### C (`03_c`)\n\nC.\n\n## After\n\nEnd.\n")
    new_chapter.add_to_workshop(tmp_path, "02_b", 2, "B")
    new_chapter.add_to_workshop(tmp_path, "04_d", 4)
    new_chapter.add_to_workshop(tmp_path, "04_d", 4)  # idempotent
    text = guide.read_text()
    assert text.index("(`01_a`)") < text.index("### B (`02_b`)") < text.index("(`03_c`)")
    assert text.index("(`03_c`)") < text.index("(`04_d`)") < text.index("## After")
    assert text.count("(`04_d`)") == 1 and "python -m demos run d`" in text
    section = text.split("(`04_d`)")[1].split("## After")[0]
    assert re.search(r"^Skip: 90 minutes, ", section, re.M) and new_chapter.PLACEHOLDER in section
    rows = [m.group(1) for m in new_chapter.TIME_ROW.finditer(text)]
    assert rows == ["how_to_read", "01_a", "02_b", "03_c", "04_d"], rows
    assert f"| `04_d` | {new_chapter.PLACEHOLDER} min | {new_chapter.PLACEHOLDER} min |" in text


def test_no_landed_chapter_still_holds_a_template_placeholder():
    """The skeleton marks what to write with new_chapter.PLACEHOLDER; nothing lands with
    one (this file builds the marker, so a clean tree greps empty for it)."""
    marker = new_chapter.PLACEHOLDER
    paths = [ROOT / "book" / page for page in ("cheatsheet.md", "workshop.md", "references.md")]
    for pitfall in catalogue.pitfalls():
        paths += [*(ROOT / "src" / "demos" / pitfall.name).glob("*.py"),
                  ROOT / "tests" / f"test_{pitfall.name}.py",
                  ROOT / "notebooks" / f"{pitfall.chapter:02d}_{pitfall.name}.ipynb"]
    left = [str(p.relative_to(ROOT)) for p in paths
            if p.is_file() and marker in p.read_text(encoding="utf-8")]
    assert not left, (
        f"{marker} is left in {left}: write that text (grep -rn '{marker}' src tests "
        f"notebooks book); book/references.md follows the notebook's Further reading "
        f"(make notebooks NB=<the notebook>)")


def test_contributing_lists_every_command_the_generator_prints_in_the_same_order():
    """CONTRIBUTING.md's "A new chapter" is the checklist `make chapter` prints."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text.split("## A new chapter", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(section.replace("\\\n", " ").split())
    at = 0
    for step in new_chapter.next_steps("my_pitfall", 7):
        assert " ".join(step.split()) in flat, f"CONTRIBUTING.md, A new chapter, lacks: {step}"
        found = flat.find(" ".join(step.split()), at)
        assert found >= 0, f"CONTRIBUTING.md, A new chapter, lists {step} out of order"
        at = found + 1


NUMBER_WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
]
#: "<number> ways AI inference code goes wrong", "the <number> pitfalls/chapters".
COUNT = re.compile(rf"\b({'|'.join(NUMBER_WORDS)})\s+(?:ways\b(?=[^.]*\bgo(?:es)? wrong)"
                   rf"|pitfalls\b|chapters\b)", re.I)
#: Where the book states how many chapters it has.
PROSE = ["README.md", "CONTRIBUTING.md", "book/intro.md", "book/intro.ipynb", "book/running.md",
         "book/workshop.md", "src/demos/__init__.py"]
#: Sentences about something else than this book's chapters, kept on purpose.
NOT_ABOUT_THE_BOOK = ("first written up for Rust",)


def _prose(path: Path) -> str:
    """A file's text; a notebook's markdown cells."""
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def _claims(text: str) -> list[str]:
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n\n", text):
        if any(phrase in sentence for phrase in NOT_ABOUT_THE_BOOK):
            continue
        found += [m.group(0) for m in COUNT.finditer(sentence)]
    return found


def test_prose_that_counts_the_chapters_agrees_with_the_catalogue():
    """Adding a chapter makes this fail until README, intro, pyproject etc. say so."""
    count = len(catalogue.pitfalls())
    texts = {p: _prose(ROOT / p) for p in PROSE if (ROOT / p).is_file()}
    texts["pyproject.toml"] = tomllib.loads((ROOT / "pyproject.toml").read_text())[
        "project"]["description"]
    wrong = {path: claims for path, text in texts.items()
             if (claims := [c for c in _claims(text)
                            if NUMBER_WORDS.index(c.split()[0].lower()) != count])}
    assert not wrong, (
        f"the catalogue has {count} chapters; these say otherwise: {wrong}: write "
        f"{NUMBER_WORDS[count]!r} in each (in book/intro.ipynb, its markdown; in "
        f"pyproject.toml, [project] description), then re-execute book/intro.ipynb")


def test_the_count_check_sees_the_phrases_it_is_for():
    assert _claims("Six ways AI inference code goes wrong.") == ["Six ways"]
    assert _claims("the six pitfalls, and seven chapters") == ["six pitfalls", "seven chapters"]
    assert _claims("three ways to sum a stream") == []
    assert _claims("The six pitfalls were first written up for Rust, in prose.") == []

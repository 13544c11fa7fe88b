"""Write a skeleton chapter that already passes the contract tests (`make chapter`).

    python tools/new_chapter.py NAME N [--title "Title"] [--root DIR] [--no-execute]

creates, from ``tools/chapter_template/``:

* ``src/demos/NAME/``: ``__init__`` (title, story, ``CHAPTER = N``), ``broken``, ``fixed``,
  ``scenario`` (``run(impl, **knobs) -> Report`` on :mod:`demos.knobs`) and ``exercises``
  (three checks returning Verdicts);
* ``tests/test_NAME.py``: broken manifests, fixed holds, bad input named, exercises checked;
* ``notebooks/NN_NAME.ipynb``: every notebook rule of CONTRIBUTING.md met with
  placeholders, stored executed (nbclient) and normalised (tools/normalise_notebooks.py);
* the ``_toc.yml`` entry (under "The pitfalls"), the ``book/cheatsheet.md`` block, the
  ``book/workshop.md`` section (``### Title (`NN_NAME`)`` with a ``Skip:`` line) and
  teaching-time row (``| `NN_NAME` | N min | N min |``, minutes to fill in), and
  ``book/references.md`` rewritten by ``tools/references.py`` (the notebook's "Further
  reading" is the chapter's entry there).

Every placeholder says ``TODO(template)``; ``grep -rn "TODO(template)" src tests notebooks
book`` lists what is left to write, and ``tests/test_new_chapter.py`` refuses a landed
chapter that still has one. It then prints :func:`next_steps`, the commands that take the
chapter to green, which CONTRIBUTING.md's "A new chapter" lists too.
"""

from __future__ import annotations

import argparse
import keyword
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).resolve().parent / "chapter_template"
PLACEHOLDER = "TODO(template)"
PITFALLS_CAPTION = "The pitfalls"


def _fill(text: str, name: str, number: int, title: str) -> str:
    return (text.replace("__PITFALL__", name).replace("__N__", str(number))
            .replace("__TITLE__", title))


def check_arguments(root: Path, name: str, number: int) -> None:
    """Refuse a name or number that is not usable or already taken (ValueError)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise ValueError(f"NAME must be a lower-case Python identifier, got {name!r}")
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 99:
        raise ValueError(f"N must be an int from 1 to 99, got {number!r}")
    package = root / "src" / "demos" / name
    if package.exists():
        raise ValueError(f"NAME must be new, got {name!r}: src/demos/{name}/ exists")
    taken = sorted((root / "notebooks").glob(f"{number:02d}_*.ipynb"))
    if taken:
        raise ValueError(f"N must be a free chapter number, got {number}: "
                         f"notebooks/{taken[0].name} exists")


def notebook_from_template(text: str) -> nbformat.NotebookNode:
    """Cells from the template's ``# %%`` format (``# %% [markdown]``, ``# %% tags=a,b``)."""
    cells = []
    for chunk in re.split(r"^(?=# %%)", text, flags=re.M):
        if not chunk.strip():
            continue
        header, _, body = chunk.partition("\n")
        body = body.strip("\n")
        if header.strip() == "# %% [markdown]":
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell(body)
            found = re.search(r"tags=(\S+)", header)
            if found:
                cell.metadata["tags"] = found.group(1).split(",")
        cell["id"] = f"cell-{len(cells)}"
        cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    return nb


def execute(nb: nbformat.NotebookNode, root: Path) -> None:
    """Execute in place with nbclient, importing ``root``'s ``src`` first, progress off."""
    from nbclient import NotebookClient

    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "DEMOS_NO_PROGRESS")}
    paths = [str(root / "src"), *filter(None, [saved["PYTHONPATH"]])]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    os.environ["DEMOS_NO_PROGRESS"] = "1"
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(root / "notebooks")}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _normalise(nb: nbformat.NotebookNode, root: Path) -> nbformat.NotebookNode:
    sys.path.insert(0, str(root / "tools"))
    try:
        import normalise_notebooks
    finally:
        sys.path.pop(0)
    return normalise_notebooks.normalise(nb)


def add_to_toc(root: Path, notebook: str) -> None:
    """Add ``- file: notebooks/NN_name`` as the last chapter of "The pitfalls" (before the
    cheat sheet when it is listed there). A small text edit: the rest of the file is kept."""
    toc = root / "_toc.yml"
    lines = toc.read_text(encoding="utf-8").splitlines(keepends=True)
    entry = f"notebooks/{notebook}"
    if any(line.strip() == f"- file: {entry}" for line in lines):
        return
    start = next((i for i, line in enumerate(lines)
                  if re.match(rf"\s*- caption:\s*{PITFALLS_CAPTION}\s*$", line)), None)
    if start is None:
        raise ValueError(f"_toc.yml must have a part captioned {PITFALLS_CAPTION!r}, got none")
    end = next((i for i in range(start + 1, len(lines))
                if re.match(r"\s*- caption:", lines[i])), len(lines))
    files = [i for i in range(start + 1, end) if re.match(r"\s*- file:", lines[i])]
    if not files:
        raise ValueError(f"the {PITFALLS_CAPTION!r} part of _toc.yml lists no file")
    indent = re.match(r"\s*", lines[files[0]]).group(0)
    chapters = [i for i in files if "notebooks/" in lines[i]]
    at = (chapters[-1] + 1) if chapters else files[0]
    lines.insert(at, f"{indent}- file: {entry}\n")
    toc.write_text("".join(lines), encoding="utf-8")


def add_to_cheatsheet(root: Path, notebook: str, number: int, title: str = "") -> None:
    """Add the chapter's block (symptom, detection, fix) in chapter order.

    The heading links with an explicit title, so the page's contents column shows the
    chapter's title rather than the link's target.
    """
    sheet = root / "book" / "cheatsheet.md"
    text = sheet.read_text(encoding="utf-8")
    if f"../notebooks/{notebook}>`" in text or f"../notebooks/{notebook}`" in text:
        return
    title = title or f"{PLACEHOLDER}: chapter {number}"
    heading = f"## {{doc}}`{title} <../notebooks/{notebook}>`"
    block = (f"{heading}\n\n"
             f"**Symptom.** {PLACEHOLDER}: what a reader sees when it bites\n\n"
             f"**How to detect.** {PLACEHOLDER}: the check or test that shows it "
             f"(`python -m demos run {notebook.split('_', 1)[1]}`)\n\n"
             f"**Fix.** {PLACEHOLDER}: the fix in one or two sentences\n\n")
    later = [m for m in re.finditer(r"^## .*?\{doc\}`[^`]*\.\./notebooks/(\d\d)_", text, re.M)
             if int(m.group(1)) > number]
    if later:
        text = text[:later[0].start()] + block + text[later[0].start():]
    else:
        text = text.rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n"
    sheet.write_text(text, encoding="utf-8")


def add_to_workshop(root: Path, notebook: str, number: int, title: str = "") -> None:
    """Add the chapter's section to the facilitator guide (book/workshop.md), in chapter
    order: ``### Title (`NN_name`)`` with objectives, a ``Skip:`` line (the sections to skip
    in each plan, quoted as the notebook heads them; tests/test_workshop.py checks them), the
    terminal fallback and a question; and its row ``| `NN_name` | N min | N min |`` in the
    suggested-teaching-time table, minutes left as placeholders (tests/test_workshop.py
    checks a row per notebook and the "add up to N minutes" sentence). Nothing happens to
    the section or the row that is there already."""
    guide = root / "book" / "workshop.md"
    text = add_workshop_row(guide.read_text(encoding="utf-8"), notebook, number)
    if f"(`{notebook}`)" in text:
        guide.write_text(text, encoding="utf-8")
        return
    name = notebook.split("_", 1)[1]
    title = title or f"{PLACEHOLDER}: chapter {number}"
    block = (f"### {title} (`{notebook}`)\n\n"
             f"Objectives: {PLACEHOLDER}: what a participant can do after this chapter.\n"
             f"Skip: 90 minutes, the whole chapter; half day, nothing; full day, nothing "
             f"({PLACEHOLDER}: quote the sections to skip as the notebook heads them, e.g. "
             f"\"Why\").\n"
             f"Terminal: `python -m demos run {name}`\n\n"
             f"**Q.** {PLACEHOLDER}: a question participants ask. **A.** {PLACEHOLDER}: "
             f"the answer.\n\n")
    sections = list(re.finditer(r"^### .*\(`(\w+)`\)\s*$", text, re.M))
    chapters = [m for m in sections if re.match(r"\d\d_", m.group(1))]
    later = [m for m in chapters if int(m.group(1)[:2]) > number]
    if later:
        at = later[0].start()
    elif sections:
        last = (chapters or sections)[-1]
        after = re.compile(r"^#{1,3} ", re.M).search(text, last.end())
        at = after.start() if after else len(text)
    else:
        raise ValueError("book/workshop.md must have chapter sections headed "
                         "`### Title (`NN_name`)`, got none")
    if at == len(text):
        text = text.rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n"
    else:
        text = text[:at] + block + text[at:]
    guide.write_text(text, encoding="utf-8")


TIME_ROW = re.compile(r"^\| `(\w+)` \| [^|\n]* min \| [^|\n]* min \|$", re.M)


def add_workshop_row(text: str, notebook: str, number: int) -> str:
    """Return the guide ``text`` with the notebook's row in its suggested-teaching-time
    table, in chapter order, its minutes placeholders (the teaching time and the time
    with all its exercises are measured by teaching, not generated)."""
    rows = list(TIME_ROW.finditer(text))
    if any(m.group(1) == notebook for m in rows):
        return text
    if not rows:
        raise ValueError("book/workshop.md must have a suggested-teaching-time table with "
                         "rows `| `NN_name` | N min | N min |`, got none")
    row = f"| `{notebook}` | {PLACEHOLDER} min | {PLACEHOLDER} min |\n"
    later = [m for m in rows if re.match(r"\d\d_", m.group(1)) and int(m.group(1)[:2]) > number]
    at = later[0].start() if later else rows[-1].end() + 1
    return text[:at] + row + text[at:]


def create(root: Path, name: str, number: int, title: str | None = None, *,
           run: bool = True) -> list[Path]:
    """Write the chapter into the repository at ``root``; return the files written."""
    check_arguments(root, name, number)
    title = title or f"{PLACEHOLDER}: the title of chapter {number}"
    package = root / "src" / "demos" / name
    package.mkdir(parents=True)
    written = []
    for part in ("__init__", "broken", "fixed", "scenario", "exercises"):
        target = package / f"{part}.py"
        target.write_text(_fill((TEMPLATE / f"{part}.py.tmpl").read_text(encoding="utf-8"),
                                name, number, title), encoding="utf-8")
        written.append(target)
    test = root / "tests" / f"test_{name}.py"
    test.write_text(_fill((TEMPLATE / "test_chapter.py.tmpl").read_text(encoding="utf-8"),
                          name, number, title), encoding="utf-8")
    written.append(test)
    notebook = f"{number:02d}_{name}"
    nb = notebook_from_template(_fill((TEMPLATE / "notebook.txt").read_text(encoding="utf-8"),
                                      name, number, title))
    nb = _normalise(nb, root)  # the set-up cell, before running it
    if run:
        execute(nb, root)
    nb = _normalise(nb, root)
    path = root / "notebooks" / f"{notebook}.ipynb"
    text = nbformat.writes(nb)
    path.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    written.append(path)
    add_to_toc(root, notebook)
    add_to_cheatsheet(root, notebook, number, title)
    add_to_workshop(root, notebook, number, title)
    written += [root / "_toc.yml", root / "book" / "cheatsheet.md", root / "book" / "workshop.md"]
    if (root / "tools" / "references.py").is_file():
        sys.path.insert(0, str(root / "tools"))
        try:
            import references
        finally:
            sys.path.pop(0)
        (root / references.PAGE).write_text(references.render(root), encoding="utf-8")
        written.append(root / references.PAGE)
    return written


NBVAL = ("--nbval --nbval-current-env --nbval-sanitize-with=tests/sanitize.cfg "
         "-p no:cacheprovider")


def next_steps(name: str, number: int) -> list[str]:
    """The commands that take a new chapter to green, in order, targeted ones first.

    CONTRIBUTING.md's "A new chapter" is this list (a test checks that it quotes each one);
    tests/test_new_chapter.py runs it on a throwaway chapter in a temporary copy.
    """
    notebook = f"notebooks/{number:02d}_{name}.ipynb"
    return [
        f"grep -rn '{PLACEHOLDER}' src tests notebooks book",
        f"make notebooks NB={notebook}",
        f'.venv/bin/pytest tests/test_{name}.py tests/test_contract.py tests/test_notebooks.py '
        f'-k {name} -o addopts="-p no:cacheprovider"',
        f".venv/bin/pytest {NBVAL} {notebook}",
        "make notebooks NB=book/intro.ipynb",
        f".venv/bin/pytest {NBVAL} book/intro.ipynb",
        f".venv/bin/python -m demos run {name}",
        f".venv/bin/python tools/mutants.py --reverse {name}",
        f".venv/bin/python tools/measure_notebooks.py {notebook}",
        ".venv/bin/pytest tests/test_notebooks.py tests/test_workshop.py "
        'tests/test_references.py tests/test_new_chapter.py -m "not slow" '
        '-o addopts="-p no:cacheprovider"',
        "make test",
    ]


def next_message(name: str, number: int) -> str:
    steps = next_steps(name, number)
    why = [
        f"replace every {PLACEHOLDER}: the package, the tests, the notebook (its Further "
        "reading becomes book/references.md), the cheat-sheet block and the workshop "
        "section (its Skip: line quotes the notebook's headings) and the minutes of its "
        "row in the workshop's teaching-time table (then its \"add up to N minutes\" "
        "sentence); count the chapters in "
        "README.md, book/intro.ipynb, pyproject.toml and src/demos/__init__.py",
        "re-execute the chapter (also rewrites book/references.md)",
        "the chapter's unit tests and its contract and notebook tests",
        "strict nbval on the chapter",
        "re-execute the front page, after the cheat sheet is filled in",
        "strict nbval on the front page",
        "broken vs fixed from the terminal",
        "its fixed tests must fail on broken.py, its broken tests on fixed.py",
        "the workshop timing, on a quiet machine",
        "the book-wide checks: front page, workshop guide, references, counts",
        "everything (minutes)",
    ]
    lines = ["Next (CONTRIBUTING.md, \"A new chapter\"):"]
    for i, (step, reason) in enumerate(zip(steps, why, strict=True), 1):
        lines.append(f"{i:2d}. {reason}:\n      {step}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the package name, e.g. retry_storms")
    parser.add_argument("number", type=int, help="the chapter number, e.g. 7")
    parser.add_argument("--title", help="the chapter title (default: a placeholder)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this)")
    parser.add_argument("--no-execute", action="store_true",
                        help="write the notebook without running it (it fails the contract "
                             "tests until `make notebooks NB=…`)")
    args = parser.parse_args(argv)
    try:
        written = create(args.root.resolve(), args.name, args.number, args.title,
                         run=not args.no_execute)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    root = args.root.resolve()
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    print(next_message(args.name, args.number))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The line-level mutation run (`make mutants`): undoing any ``# FIX:`` line must fail a test.

``tools/fix_lines.py`` writes the mutants: each ``# FIX:`` line in src/demos undone (the
statement deleted, its guard forced, its loop or lock removed) plus the declared targeted
mutations. Each mutant is applied in a scratch copy of the repository (tools/scratch.py; this
working tree is never touched) and its chapter's tests whose names contain ``fixed`` run with
``-x``, fastest first (the order of a first, unmutated run, which must pass). A mutant is

* ``killed`` when a test fails or errors (pytest exit status 1);
* ``SURVIVED`` when every test passes, unless :data:`EQUIVALENT` says why the line is truly
  redundant (then ``equivalent``);
* ``TIMEOUT`` past ``--timeout`` seconds: a regression must fail in seconds;
* ``INVALID`` when the mutant does not compile or its tests cannot import it: that is no kill,
  and it is counted apart (the line needs a declared targeted mutation instead).

Prints a table and ``N # FIX: lines, M mutants, K killed, S survived``; exits 1 unless every
mutant is killed or declared equivalent and every ``# FIX:`` line has a mutant.

Usage: python tools/line_mutants.py [--jobs J] [--timeout S] [--list] [PATH-SUBSTRING ...]
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fix_lines
import scratch
from fix_lines import Mutant

ROOT = scratch.ROOT
KEYWORD = "fixed"
#: Tests of a module whose tests are not named ``fixed``: the pytest -k expression to use.
KEYWORDS = {"src/demos/batching/first_fix.py": "first_fix"}
#: Tests that see a # FIX: line the chapter's own file does not (their names name the chapter).
EXTRA = "tests/test_fix_lines.py"
TIMEOUT_S = 90.0
TEST_TIMEOUT_S = 30
#: (path, a text of the mutated line, mutation kind) -> why the mutant changes nothing.
EQUIVALENT: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True)
class Result:
    mutant: Mutant
    verdict: str
    seconds: float
    detail: str


def selection(mutant: Mutant) -> tuple[tuple[str, ...], str]:
    """The test files and -k expression that must see ``mutant``: the chapter's tests named
    ``fixed``, and those of tests/test_fix_lines.py that name the chapter."""
    files = [f"tests/test_{mutant.chapter}.py"]
    files += [EXTRA] if (ROOT / EXTRA).is_file() else []
    return tuple(files), f"({KEYWORDS.get(mutant.path, KEYWORD)}) and {mutant.chapter}"


def _pytest(copy: Path, args: Sequence[str], timeout_s: float) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider",
               "-q", "-rfE", "--no-header", "--tb=native", f"--timeout={TEST_TIMEOUT_S}", *args]
    env = scratch.env_for(copy, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(command, cwd=copy, env=env, capture_output=True,
                          text=True, timeout=timeout_s)


def baseline(copy: Path, files: Sequence[str], keyword: str,
             timeout_s: float) -> list[str] | str:
    """The selected tests' node ids, fastest first; or why the unmutated run failed."""
    tests = " ".join(files)
    try:
        run = _pytest(copy, [*files, "-k", keyword, "--durations=0", "--durations-min=0"],
                      timeout_s * 3)
    except subprocess.TimeoutExpired:
        return f"the unmutated {tests} -k {keyword} ran past {timeout_s * 3:.0f} s"
    if run.returncode != 0:
        return f"the unmutated {tests} -k {keyword} failed: {_summary(run.stdout)}"
    took: dict[str, float] = {}
    for seconds, node in re.findall(r"^(\d+\.\d+)s (?:setup|call|teardown) +(.+)$",
                                    run.stdout, re.M):
        took[node] = took.get(node, 0.0) + float(seconds)
    return sorted(took, key=lambda node: took[node])


def _summary(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1].strip("= ") if lines else ""


def _first_failure(output: str) -> str:
    found = re.search(r"^(?:FAILED|ERROR) \S+::(\S+)", output, re.M)
    return found.group(1) if found else _summary(output)


def run_one(copy: Path, mutant: Mutant, nodes: list[str], timeout_s: float) -> Result:
    """Apply ``mutant`` in ``copy``, run ``nodes`` with -x, restore the file."""
    target = copy / mutant.path
    saved = target.read_text()
    mutated = mutant.apply(saved)
    try:
        compile(mutated, str(target), "exec")
    except SyntaxError as error:
        return Result(mutant, "INVALID", 0.0, f"does not compile: {error.msg}")
    target.write_text(mutated)
    shutil.rmtree(target.parent / "__pycache__", ignore_errors=True)
    start = time.perf_counter()
    try:
        run = _pytest(copy, ["-x", *nodes], timeout_s)
    except subprocess.TimeoutExpired:
        return Result(mutant, "TIMEOUT", time.perf_counter() - start,
                      f"the tests ran past {timeout_s:.0f} s")
    finally:
        target.write_text(saved)
        shutil.rmtree(target.parent / "__pycache__", ignore_errors=True)
    took = time.perf_counter() - start
    output = run.stdout + run.stderr
    if run.returncode == 1:
        return Result(mutant, "killed", took, _first_failure(output))
    if run.returncode == 0:
        why = next((reason for (path, text, kind), reason in EQUIVALENT.items()
                    if path == mutant.path and text in mutant.source and kind == mutant.kind),
                   None)
        if why:
            return Result(mutant, "equivalent", took, why)
        return Result(mutant, "SURVIVED", took, _summary(output))
    if "rror" in output and "collect" in output:
        return Result(mutant, "INVALID", took, "the tests cannot import it: "
                      + _first_failure(output))
    return Result(mutant, "ERROR", took, f"pytest exit {run.returncode}: {_summary(output)}")


def table(results: Sequence[Result]) -> str:
    where = [f"{r.mutant.path.removeprefix('src/demos/')}:{r.mutant.line}" for r in results]
    w1 = max([5, *map(len, where)])
    w2 = max([8, *(len(r.mutant.kind) for r in results)])
    rows = [f"{'line':<{w1}}  {'mutation':<{w2}}  {'verdict':<10}  {'seconds':>7}  "
            "first failing test / note",
            f"{'-' * w1}  {'-' * w2}  {'-' * 10}  {'-' * 7}  {'-' * 25}"]
    rows += [f"{at:<{w1}}  {r.mutant.kind:<{w2}}  {r.verdict:<10}  {r.seconds:>7.1f}  {r.detail}"
             for at, r in zip(where, results, strict=True)]
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="mutate only paths containing one of these")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                        help="mutants run at once, each in its own scratch copy (default 2)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S,
                        help=f"seconds per mutant (default {TIMEOUT_S:.0f})")
    parser.add_argument("--list", action="store_true", help="print the mutants; run nothing")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        marked, found = fix_lines.mutants(ROOT)
    except ValueError as error:  # a targeted mutation's line changed: update TARGETED
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.only:
        marked = [m for m in marked if any(s in m[0] for s in args.only)]
        found = [m for m in found if any(s in m.path for s in args.only)]
    uncovered = sorted(set(marked) - {(m.path, m.line) for m in found})
    if args.list:
        for m in found:
            print(f"{m.path}:{m.line}  [{m.kind}]  {m.source}")
        print(f"{len(marked)} # FIX: lines, {len(found)} mutants")
        return 0
    with tempfile.TemporaryDirectory(prefix="line-mutants-") as tmp:
        copies: queue.Queue[Path] = queue.Queue()
        for i in range(max(1, args.jobs)):
            copies.put(scratch.copy_repo(Path(tmp) / f"repo{i}",
                                         folders=("src", "tests", "book", "tools")))
        groups = sorted({selection(m) for m in found})

        def base(group: tuple[tuple[str, ...], str]) -> list[str] | str:
            copy = copies.get()
            try:
                return baseline(copy, *group, args.timeout)
            finally:
                copies.put(copy)

        def one(mutant: Mutant) -> Result:
            nodes = order[selection(mutant)]
            if isinstance(nodes, str):
                return Result(mutant, "ERROR", 0.0, nodes)
            copy = copies.get()
            try:
                result = run_one(copy, mutant, nodes, args.timeout)
            finally:
                copies.put(copy)
            print(f"{mutant.path}:{mutant.line} [{mutant.kind}]: {result.verdict} in "
                  f"{result.seconds:.1f} s", file=sys.stderr, flush=True)
            return result

        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            order = dict(zip(groups, pool.map(base, groups), strict=True))
            results = list(pool.map(one, found))
    print(table(results))
    count = {v: sum(r.verdict == v for r in results)
             for v in ("killed", "SURVIVED", "equivalent", "INVALID", "TIMEOUT", "ERROR")}
    for path, line in uncovered:
        print(f"UNCOVERED: {path}:{line} has a # FIX: but no mutant (declare one in "
              "tools/fix_lines.py TARGETED)")
    print(f"{len(marked)} # FIX: lines, {len(results)} mutants, {count['killed']} killed, "
          f"{count['SURVIVED']} survived ({count['equivalent']} equivalent, "
          f"{count['INVALID']} invalid, {count['TIMEOUT']} timed out, {count['ERROR']} errors; "
          f"{len(uncovered)} lines uncovered) in {time.perf_counter() - start:.0f} s")
    ok = count["killed"] + count["equivalent"] == len(results) and not uncovered
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

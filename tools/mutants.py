"""A mutation check (`make mutants`): each chapter's fixed-behaviour tests must fail on broken.py.

For every landed chapter, in a scratch copy of the repository (tools/scratch.py; this
working tree is never touched), ``fixed.py`` is replaced by ``broken.py`` and the chapter's
tests that check the fixed behaviour (by default those whose name contains ``fixed``) are
run with ``-x``. The mutant is

* ``killed`` when a test fails (pytest exit status 1): the tests can see the fix;
* ``SURVIVED`` when they all pass: a test that cannot see its fix, the defect
  CONTRIBUTING.md ("Tests") and issue 19 are about;
* ``TIMEOUT`` when they do not finish within ``--timeout`` seconds: a regression must fail
  in seconds, not wait out the 30 s default bounds;
* ``ERROR`` when pytest could not run them (an import error: tests importing a name that
  broken.py does not export), ``NO TESTS`` when the selection is empty.

With ``--reverse`` it also runs the mirror mutation: ``broken.py`` replaced by ``fixed.py``,
and the tests whose names contain ``broken`` (those that prove the pitfall manifests) must
fail, so a "broken manifests" test that would pass on any code is found too.

Prints a table (chapter, verdict, seconds, the test that failed first) and exits 1 unless
every mutant is killed.

Usage: python tools/mutants.py [--reverse] [--timeout S] [-k EXPR] [PITFALL ...]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scratch

ROOT = scratch.ROOT
KEYWORD = "fixed"
TIMEOUT_S = 120.0
#: Per test, inside the run: one hung test must not eat the chapter's whole budget.
TEST_TIMEOUT_S = 60


@dataclass(frozen=True)
class Mutant:
    pitfall: str
    verdict: str
    seconds: float
    detail: str

    @property
    def killed(self) -> bool:
        return self.verdict == "killed"


def chapters(root: Path) -> list[str]:
    """Landed chapters: packages with broken, fixed and scenario, and a test file."""
    found = []
    for package in sorted((root / "src" / "demos").iterdir()):
        parts = all((package / f"{p}.py").is_file() for p in ("broken", "fixed", "scenario"))
        if parts and (root / "tests" / f"test_{package.name}.py").is_file():
            found.append(package.name)
    return found


def _first_failure(output: str) -> str:
    found = re.search(r"^FAILED \S+::(\S+)", output, re.M)
    if found:
        return found.group(1)
    found = re.search(r"^ERROR \S+(?:::(\S+))?", output, re.M)
    return found.group(0) if found else ""


def _summary(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1].strip("= ") if lines else ""


def mutate_and_test(copy: Path, pitfall: str, *, keyword: str = KEYWORD,
                    timeout_s: float = TIMEOUT_S, reverse: bool = False) -> Mutant:
    """Swap ``fixed.py`` for ``broken.py`` in ``copy``, run the tests, put it back.

    With ``reverse``, ``broken.py`` is replaced by ``fixed.py`` instead (and ``keyword``
    should select the tests that prove the broken code manifests, e.g. ``"broken"``).
    """
    package = copy / "src" / "demos" / pitfall
    replaced, by = ("broken", "fixed") if reverse else ("fixed", "broken")
    fixed, broken = package / f"{replaced}.py", package / f"{by}.py"
    saved = fixed.read_bytes()
    shutil.copyfile(broken, fixed)
    for cache in package.glob("__pycache__"):
        shutil.rmtree(cache)
    args = [sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider",
            "-x", "-q", "-rfE", "--no-header", f"--timeout={TEST_TIMEOUT_S}",
            f"tests/test_{pitfall}.py", "-k", keyword]
    start = time.perf_counter()
    try:
        result = subprocess.run(args, cwd=copy, env=scratch.env_for(copy), capture_output=True,
                                text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return Mutant(pitfall, "TIMEOUT", time.perf_counter() - start,
                      f"the tests ran past {timeout_s:.0f} s")
    finally:
        fixed.write_bytes(saved)
    took = time.perf_counter() - start
    output = result.stdout + result.stderr
    if result.returncode == 1 and "failed" in _summary(output):
        return Mutant(pitfall, "killed", took, _first_failure(output) or _summary(output))
    if result.returncode == 0:
        return Mutant(pitfall, "SURVIVED", took, _summary(output))
    if result.returncode == 5:
        return Mutant(pitfall, "NO TESTS", took, f"no test matches -k {keyword!r}")
    return Mutant(pitfall, "ERROR", took, _first_failure(output) or _summary(output))


def _label(mutant: Mutant, reverse: bool) -> Mutant:
    arrow = "broken.py → fixed.py" if reverse else "fixed.py → broken.py"
    return Mutant(f"{mutant.pitfall} ({arrow})", mutant.verdict, mutant.seconds, mutant.detail)


def table(mutants: Sequence[Mutant]) -> str:
    width = max([len("chapter"), *(len(m.pitfall) for m in mutants)])
    rows = [f"{'chapter':<{width}}  {'mutant':<8}  {'seconds':>7}  first failing test / note",
            f"{'-' * width}  {'-' * 8}  {'-' * 7}  {'-' * 26}"]
    rows += [f"{m.pitfall:<{width}}  {m.verdict:<8}  {m.seconds:>7.1f}  {m.detail}"
             for m in mutants]
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pitfalls", nargs="*", help="default: every landed chapter")
    parser.add_argument("-k", dest="keyword", default=KEYWORD,
                        help=f"pytest -k expression selecting the fixed-behaviour tests "
                             f"(default {KEYWORD!r})")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S,
                        help=f"seconds per chapter (default {TIMEOUT_S:.0f})")
    parser.add_argument("--reverse", action="store_true",
                        help="also replace broken.py by fixed.py and require the tests whose "
                             "names contain 'broken' to fail")
    args = parser.parse_args(argv)
    names = args.pitfalls or chapters(ROOT)
    unknown = sorted(set(names) - set(chapters(ROOT)))
    if unknown:
        print(f"error: pitfall must be one of {', '.join(chapters(ROOT))}, got {unknown[0]!r}",
              file=sys.stderr)
        return 2
    mutants = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        copy = scratch.copy_repo(Path(tmp) / "repo", folders=("src", "tests", "book", "tools"))
        runs = [(name, False) for name in names]
        runs += [(name, True) for name in names] if args.reverse else []
        for name, reverse in runs:
            mutant = mutate_and_test(copy, name, keyword="broken" if reverse else args.keyword,
                                     timeout_s=args.timeout, reverse=reverse)
            if args.reverse:
                mutant = _label(mutant, reverse)
            print(f"{mutant.pitfall}: {mutant.verdict} in {mutant.seconds:.1f} s",
                  file=sys.stderr, flush=True)
            mutants.append(mutant)
    print(f"fixed.py replaced by broken.py; tests selected with -k {args.keyword!r}, -x"
          + ("; and broken.py by fixed.py, tests selected with -k 'broken'"
             if args.reverse else ""))
    print(table(mutants))
    killed = sum(m.killed for m in mutants)
    print(f"{killed} of {len(mutants)} mutants killed in {time.perf_counter() - start:.0f} s")
    return 0 if killed == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main())

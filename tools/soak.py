"""`make soak`: run the suite again and again, a loaded machine included, and count passes.

A flaky verdict is a defect (CONTRIBUTING.md, "Stored outputs stay honest"): this script is
how we look for one. It runs, back to back and never retrying:

* ``make test`` RUNS times (default 5);
* the unit suite UNIT_RUNS times (default 3) on each of CPython 3.12 and 3.13, in the
  matrix's venvs (``nox -R -s python-3.12 -- unit``: created once, then reused). Only the
  unit suite: the matrix's Python sessions (``make matrix``) run the whole of ``make test``
  on each Python once; a fresh-clone `make test` took 13 min (3.12) and 18 min (3.13) on a
  loaded 2-core machine, too long to repeat here;
* ``make test`` LOADED_RUNS times (default 2) while ``stress-ng --cpu 1`` keeps one core
  busy (installed with apt-get when missing).

The log of every failing run is kept in ``_build/soak/``; the last line is the pass count,
``soak: N passed, M failed``. Afterwards it checks that nothing leaked: no child process of
ours still running and no new temporary folder (``/tmp/…``) left behind.

    make soak
    RUNS=1 UNIT_RUNS=1 LOADED_RUNS=1 make soak     # a quick pass
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "_build" / "soak"
BIN = ROOT / ".venv" / "bin"
#: A whole `make test` takes minutes; anything past this is a hang, and counts as a failure.
RUN_BOUND_S = 45 * 60


def _count(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.isdigit():
        raise SystemExit(f"{name} must be a whole number >= 0, got {value!r}")
    return int(value)


def _run(label: str, command: list[str]) -> bool:
    """Run one command to completion (bounded); keep its log if it failed."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as log:
        try:
            code = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=RUN_BOUND_S, check=False).returncode
        except subprocess.TimeoutExpired:
            code = -1
        seconds = time.monotonic() - started
        ok = code == 0
        print(f"{'PASS' if ok else 'FAIL'}  {label:<28} {seconds:7.0f} s", flush=True)
        if not ok:
            LOGS.mkdir(parents=True, exist_ok=True)
            log.seek(0)
            path = LOGS / f"{label.replace(' ', '_')}.log"
            path.write_text(log.read())
            print(f"      log kept: {path.relative_to(ROOT)}", flush=True)
    return ok


def _stress() -> subprocess.Popen | None:
    if not shutil.which("stress-ng"):
        subprocess.run(["apt-get", "install", "-y", "-q", "stress-ng"], check=False,
                       stdout=subprocess.DEVNULL, env={**os.environ,
                                                      "DEBIAN_FRONTEND": "noninteractive"})
    if not shutil.which("stress-ng"):
        print("stress-ng could not be installed: the loaded runs are skipped", flush=True)
        return None
    return subprocess.Popen(["stress-ng", "--cpu", "1", "--timeout", f"{RUN_BOUND_S * 3}s",
                             "--quiet"])


def _temp_entries() -> set[str]:
    """Entries of the temporary folder; pytest's own basetemp (it keeps the last three
    sessions' folders on purpose) does not count."""
    return {p.name for p in Path(tempfile.gettempdir()).iterdir()
            if not p.name.startswith("pytest-of-")}


def main() -> int:
    runs, unit_runs, loaded_runs = (_count("RUNS", 5), _count("UNIT_RUNS", 3),
                                    _count("LOADED_RUNS", 2))
    temp_before = _temp_entries()
    results = []
    for i in range(1, runs + 1):
        results.append(_run(f"make test {i}", ["make", "test"]))
    for version in ("3.12", "3.13"):
        session = f"python-{version}"
        for i in range(1, unit_runs + 1):
            # The first run creates the venv; later ones reuse it and only re-run the tests.
            reuse = ["-R"] if i > 1 else []
            results.append(_run(f"unit {version} {i}", [str(BIN / "nox"), *reuse, "-s",
                                                        session, "--", "unit"]))
    if loaded_runs:
        hog = _stress()
        try:
            if hog is not None:
                for i in range(1, loaded_runs + 1):
                    results.append(_run(f"make test loaded {i}", ["make", "test"]))
        finally:
            if hog is not None:
                hog.terminate()
                hog.wait(timeout=30)
    leaked = [p for p in psutil.Process().children(recursive=True) if p.is_running()]
    new_temp = sorted(_temp_entries() - temp_before)
    print(f"child processes left: {len(leaked)}; new temporary entries left: {new_temp or 0}")
    passed = sum(results)
    print(f"soak: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) and not leaked and not new_temp else 1


if __name__ == "__main__":
    sys.exit(main())

"""Shared fixtures: nothing may leak out of a test, and the book is built once per session."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]

#: How long a test's threads and child processes get to wind down before we call it a leak.
LEAK_GRACE_S = 2.0


def _live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive()}


def _children() -> set[int]:
    """Child processes, less multiprocessing's resource tracker: Python starts that helper
    once, with the first spawned process, and keeps it for the life of the parent."""
    children = set()
    for process in psutil.Process().children(recursive=True):
        try:
            if "multiprocessing.resource_tracker" not in " ".join(process.cmdline()):
                children.add(process.pid)
        except psutil.NoSuchProcess:
            pass
    return children


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail a test that leaves a thread or a child process running behind it."""
    threads_before, children_before = _live_threads(), _children()
    yield
    deadline = time.monotonic() + LEAK_GRACE_S
    while time.monotonic() < deadline:
        new_threads = _live_threads() - threads_before
        new_children = _children() - children_before
        if not new_threads and not new_children:
            return
        time.sleep(0.05)
    names = sorted(t.name for t in new_threads)
    assert not new_threads, f"threads left running after the test: {names}"
    assert not new_children, f"child processes left running after the test: {sorted(new_children)}"


@pytest.fixture(scope="session")
def encoder():
    """The real MiniLM encoder, loaded once for the whole test session."""
    from demos.models import load_encoder

    return load_encoder()


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the book once, with warnings as errors, into a temporary folder; return html/."""
    out = tmp_path_factory.mktemp("site")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "-W", "-n",
         "--keep-going"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
        env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    )
    if result.returncode != 0:
        pytest.fail(f"jupyter-book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return out / "_build" / "html"

"""What ``spawn`` costs and what ``fork`` warns: memory per worker, and CPython's warning.

A prefork server loads the model once and forks, so that its workers share the weights:
``fork`` copies the address space copy-on-write, and pages nobody writes (a session's
weights) stay one physical copy. A ``spawn`` worker is a fresh interpreter that loads its
own copy. :func:`worker_memory` measures the difference with the real model:

1. a *server* in a fresh interpreter (its own process group, killed at the bound) loads the
   real encoder first (``fork``, the ``--preload`` layout) or not at all (``spawn``: each
   worker loads its own, as it must);
2. it starts workers one at a time; each encodes two sentences (one request) through the
   app's model, says so through a pipe and waits, so every total is taken after each
   worker alive has served that one request; with ``n`` workers alive the server reads
   the USS (pages only that process maps) and PSS (its pages, each shared page divided
   among its sharers) of itself, every worker, and its other children (``spawn`` starts
   ``multiprocessing``'s resource tracker, a process of its own) (``psutil``'s
   ``memory_full_info``: Linux ``smaps``);
3. it stops every worker by its PID (SIGKILL, then a bounded join) and prints what it saw.

The sum of the PSS of every process (server, workers, helpers) is what the machine pays.

:func:`fork_warning` runs a few lines that fork after starting a thread on another
interpreter (CPython 3.12 and later warn; the book's matrix runs 3.11, 3.12 and 3.13).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["METHODS", "WarningSeen", "WorkerMemory", "fork_warning", "interpreters",
           "worker_memory"]

METHODS = ("fork", "spawn")

#: How long the server waits for one worker to load and answer before it gives up.
WORKER_BOUND_S = 60.0

#: The app's model, a module global as in a web app: set in the server before a fork.
_app_model: Any = None


@dataclass(frozen=True, slots=True)
class WorkerMemory:
    """Memory with ``len(uss_mib)`` workers alive: one entry per worker, in MiB."""

    method: str
    server_uss_mib: float
    server_pss_mib: float
    uss_mib: tuple[float, ...]
    pss_mib: tuple[float, ...]
    #: The PSS of the server's children that are not workers (the resource tracker).
    helpers_pss_mib: float = 0.0

    @property
    def total_pss_mib(self) -> float:
        """What the machine pays: the PSS of the server, every worker and helper, summed."""
        return self.server_pss_mib + sum(self.pss_mib) + self.helpers_pss_mib


def _load() -> Any:
    from demos.models import load_encoder

    return load_encoder(intra_op_threads=1)


def _serve(conn: Connection, bound_s: float) -> None:
    """A worker: encode through the app's model (inherited or its own), report, wait."""
    global _app_model
    if _app_model is None:  # spawn: a fresh interpreter, it loads its own
        _app_model = _load()
    _app_model.encode(["A cat sits on the mat.", "Stock markets fell sharply."])
    conn.send(os.getpid())
    conn.close()
    time.sleep(bound_s)  # waits to be killed by its PID; the bound keeps an orphan finite
    os._exit(0)  # no destructors: an inherited session's can crash (the chapter shows it)


def _memory(pid: int) -> tuple[float, float]:
    import psutil

    info = psutil.Process(pid).memory_full_info()
    return info.uss / 2**20, info.pss / 2**20


def _helpers(workers: list[Any]) -> list[int]:
    """PIDs of the server's children that are not its workers (the resource tracker)."""
    import psutil

    ours = {w.pid for w in workers}
    return [c.pid for c in psutil.Process().children() if c.pid not in ours]


def _helpers_pss_mib(workers: list[Any]) -> float:
    """The summed PSS of :func:`_helpers` (one that exits meanwhile counts 0)."""
    import psutil

    total = 0.0
    for pid in _helpers(workers):
        with contextlib.suppress(psutil.Error):
            total += _memory(pid)[1]
    return total


def _server(method: str, workers: int, bound_s: float) -> list[dict[str, Any]]:
    """Load (fork only), start ``workers`` workers one by one, measure after each, stop all."""
    import multiprocessing

    global _app_model
    if method == "fork":
        _app_model = _load()  # gunicorn --preload: load once, before the workers
    context = multiprocessing.get_context(method)
    started: list[Any] = []
    seen: list[dict[str, Any]] = []
    try:
        for index in range(workers):
            ours, theirs = context.Pipe(duplex=False)
            worker = context.Process(target=_serve, args=(theirs, bound_s),
                                     name=f"worker-{index}", daemon=True)
            worker.start()
            started.append(worker)
            theirs.close()
            if not ours.poll(bound_s):
                raise TimeoutError(f"worker {index} did not answer within {bound_s}s")
            ours.recv()
            server = _memory(os.getpid())
            each = [_memory(w.pid) for w in started]
            seen.append({"server": server, "workers": each,
                         "helpers": _helpers_pss_mib(started)})
    finally:
        for worker in started:  # stop every worker by its PID, then reap it
            if worker.is_alive():
                os.kill(worker.pid, signal.SIGKILL)
            worker.join(5.0)
    left = [w.pid for w in started if w.is_alive()]
    if left:
        raise RuntimeError(f"workers still alive after SIGKILL: {left}")
    return seen


def worker_memory(method: str, workers: int = 3, *,
                  timeout_s: float = 3 * WORKER_BOUND_S) -> list[WorkerMemory]:
    """Memory of a server with 1, 2, ... ``workers`` workers started by ``method``.

    Runs :func:`_server` in a fresh interpreter (its own process group, killed at
    ``timeout_s``), so the notebook's own imports and threads change nothing.

    Raises:
        ValueError: for an unknown method or a worker count outside 1..3.
        HangError: if the server outlives ``timeout_s``.
    """
    from demos.publication.forking import run_server  # parent side only: the child stays lean

    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if not 1 <= workers <= 3:  # 2 cores: more workers only wait for each other
        raise ValueError(f"workers must be between 1 and 3, got {workers!r}")
    server, out, err = run_server(
        [sys.executable, "-m", __name__, method, str(workers), str(timeout_s / (workers + 1))],
        timeout_s, f"{method} server")
    lines = [line for line in out.splitlines() if line.startswith("[")]
    if server.returncode != 0 or not lines:
        raise RuntimeError(f"{method} server failed ({server.returncode}): {err[-400:]}")
    return [WorkerMemory(method=method, server_uss_mib=step["server"][0],
                         server_pss_mib=step["server"][1],
                         uss_mib=tuple(u for u, _ in step["workers"]),
                         pss_mib=tuple(p for _, p in step["workers"]),
                         helpers_pss_mib=step["helpers"])
            for step in json.loads(lines[-1])]


# -- the warning -------------------------------------------------------------------------

#: Fork after starting a thread, in ``__main__`` (``os.fork``) or through ``multiprocessing``.
_FORK_PROBE = """
import multiprocessing, os, sys, threading
stop = threading.Event()
helper = threading.Thread(target=stop.wait, args=(10,), name="helper")
helper.start()
if sys.argv[1] == "os.fork":
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
else:
    child = multiprocessing.get_context("fork").Process(target=int)
    child.start()
    child.join(10)
stop.set()
helper.join(10)
"""


@dataclass(frozen=True, slots=True)
class WarningSeen:
    """What one interpreter printed on stderr when a multi-threaded process forked."""

    python: str  # "3.12.1"
    how: str  # "os.fork in __main__", "multiprocessing 'fork'", + " (-W default)"
    warning: str  # the warning's message, the pid replaced by <pid>; "" when none


def interpreters() -> dict[str, str]:
    """CPython interpreters that run here: ``{"3.12.1": path}``, this one included.

    Looks for ``python3.11`` .. ``python3.13`` on ``PATH`` and in pyenv's versions folder
    (``$PYENV_ROOT``, default ``~/.pyenv``); keeps those that start.
    """
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [sys.executable]
    for minor in (11, 12, 13):
        candidates += [shutil.which(f"python3.{minor}") or "",
                       *sorted(glob.glob(f"{root}/versions/3.{minor}.*/bin/python3.{minor}"))]
    found: dict[str, str] = {}
    for path in filter(None, candidates):
        try:
            probe = subprocess.run([path, "-c", "import platform; print(platform.python_version(),"
                                    " platform.python_implementation())"],
                                   capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        version, _, implementation = probe.stdout.strip().partition(" ")
        if probe.returncode == 0 and implementation == "CPython":
            found.setdefault(version, path)
    return dict(sorted(found.items(), key=lambda item: tuple(map(int, item[0].split(".")))))


def fork_warning(python: str, how: str = "os.fork", *, show_all: bool = False) -> str:
    """The DeprecationWarning (if any) ``python`` prints when a multi-threaded process forks.

    Args:
        python: the interpreter to run.
        how: ``"os.fork"`` (called from ``__main__``) or ``"multiprocessing"`` (a ``fork``
            context's Process, as the chapter's broken ``start_worker`` does).
        show_all: run with ``-W default::DeprecationWarning``, so the warning is shown
            wherever it is raised (by default only code in ``__main__`` shows it).
    """
    if how not in ("os.fork", "multiprocessing"):
        raise ValueError(f"how must be 'os.fork' or 'multiprocessing', got {how!r}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    flags = ["-W", "default::DeprecationWarning"] if show_all else []
    run = subprocess.run([python, *flags, "-c", _FORK_PROBE, how], capture_output=True,
                         text=True, timeout=60, env=env)
    lines = [line for line in run.stderr.splitlines() if "DeprecationWarning" in line]
    if not lines:
        return ""
    message = lines[0].split("DeprecationWarning: ", 1)[-1]
    pid = message.split("pid=", 1)[-1].split(")", 1)[0]
    return message.replace(f"pid={pid}", "pid=<pid>") if pid.isdigit() else message


if __name__ == "__main__":
    if sys.argv[1] in METHODS:
        print(json.dumps(_server(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))),
              flush=True)

"""Processes as well as threads: a worker started after the model was loaded (preload).

A prefork server (gunicorn with ``--preload``, a ``multiprocessing`` pool on Linux) loads
the model once in the parent and then forks its workers, so that they share the weights.
:func:`worker_trial` builds that situation in a fresh interpreter (a *server* process, run
under a timeout and killed with everything it started if it outlives it):

1. the server preloads the app's model through ``impl.LazyModel`` (a real onnxruntime
   session with ``intra_op_threads`` threads) into a module global, as an app module does;
2. it starts one worker with ``impl.start_worker`` and the worker serves a request through
   the same module global: after ``fork`` it finds the parent's model, after ``spawn`` the
   module is imported afresh and the worker loads its own;
3. the worker reports, step by step through a pipe, which process created its session, how
   many OS threads it has, whether the prediction was right, and then shuts down the way a
   worker does: it drops its model (the session is destroyed) and exits.

What is certain by construction: a forked worker uses a session created in another process,
and it has exactly one thread (``fork`` copies only the calling thread), so the session's
intra-op pool is not there. What follows from it on this machine is measured and reported
(the prediction, and whether destroying the inherited session crashes the worker).

With ``mode="during-load"`` the worker starts while a server thread is inside the load (an
Event holds it there until the worker has reported): a forked worker then inherits whatever
the load holds, e.g. the fixed ``LazyModel``'s lock, held by a thread it does not have.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

__all__ = ["WORKER_BOUND_S", "WorkerTrial", "worker_trial"]

#: How long the server waits for its worker before it kills it.
WORKER_BOUND_S = 20.0

#: The app's preloaded model (an ``impl.LazyModel``): a module global, as in a web app.
_app_model: Any = None


@dataclass(frozen=True, slots=True)
class WorkerTrial:
    """What one worker saw. ``None`` where the worker never got that far."""

    impl: str
    intra_op_threads: int
    server_pid: int
    worker_pid: int | None
    model_pid: int | None  # the process that created the worker's session
    worker_threads: int | None  # OS threads in the worker while it held the model
    prediction_ok: bool | None
    released: bool  # the worker destroyed its session and went on
    exitcode: int | None  # None: still running at the bound (killed)
    get_hung: bool = False  # the worker's get() never returned (a lock copied while held)
    log: str = ""  # the server's stderr, for a reader who wants to look

    @property
    def inherited(self) -> bool:
        """The worker used a session that another process created."""
        return self.model_pid is not None and self.model_pid != self.worker_pid

    @property
    def missing_threads(self) -> bool:
        """The worker has fewer threads than its session's intra-op pool needs."""
        return self.worker_threads is not None and self.worker_threads < self.intra_op_threads

    @property
    def failed(self) -> bool:
        """Anything but: own session, its threads there, right answer, clean exit."""
        return (self.inherited or self.missing_threads or self.get_hung
                or self.prediction_ok is not True or not self.released or self.exitcode != 0)

    @property
    def outcome(self) -> str:
        """A few words on how the worker ended."""
        if self.get_hung:
            return "hung in get() (gave up)"
        if self.exitcode is None:
            return "hung (killed)"
        if self.exitcode < 0:
            return f"killed by {signal.Signals(-self.exitcode).name}"
        return f"exit {self.exitcode}"


def _threads() -> int | None:
    try:
        return len(os.listdir("/proc/self/task"))  # Linux: one entry per OS thread
    except OSError:
        return None


def _gone(native_id: int | None, bound_s: float = 2.0) -> None:
    """Wait (at most ``bound_s``) until the OS thread ``native_id`` has left /proc."""
    deadline = time.monotonic() + bound_s
    while native_id is not None and os.path.exists(f"/proc/self/task/{native_id}"):
        if time.monotonic() > deadline:
            return
        time.sleep(0.001)


def _load(intra_op_threads: int) -> Any:
    from demos.publication.model import load_model

    return load_model(intra_op_threads=intra_op_threads)


#: During-load mode: set by the server's load once it is running; the load then waits for
#: ``_release``, so the worker is forked while the load (and whatever it holds) is in flight.
_inside, _release = threading.Event(), threading.Event()
_server_pid = os.getpid()


def _load_held_open(intra_op_threads: int) -> Any:
    if os.getpid() == _server_pid:  # in the server: hold the load open across the fork
        _inside.set()
        _release.wait(WORKER_BOUND_S)
    return _load(intra_op_threads)


def _preload(impl: Any, intra_op_threads: int, *, held_open: bool = False) -> Any:
    global _app_model
    if _app_model is None:
        import functools

        load = _load_held_open if held_open else _load
        _app_model = impl.LazyModel(functools.partial(load, intra_op_threads))
    return _app_model.get()


def serve_one_request(impl_name: str, intra_op_threads: int, conn: Connection,
                      get_bound_s: float) -> None:
    """The worker: one request through the app's model, then a worker's shutdown."""
    global _app_model
    from demos.publication.model import reference_predict, sample_ids

    impl = importlib.import_module(impl_name)
    got: list[Any] = []  # the parent's model, if it was inherited
    getter = threading.Thread(target=lambda: got.append(_preload(impl, intra_op_threads)),
                              name="worker-get", daemon=True)
    getter.start()
    getter.join(get_bound_s)
    if not got:  # still waiting in get(): on a lock that no thread of this process holds
        conn.send({"worker_pid": os.getpid(), "get_hung": True, "worker_threads": _threads()})
        conn.close()
        return
    model = got.pop()
    _gone(getter.native_id)  # count threads only once the helper has left the OS too
    ids = sample_ids(64)
    ok = bool(np.allclose(model.predict(ids), reference_predict(ids), atol=1e-5))
    conn.send({"worker_pid": os.getpid(), "model_pid": model.pid,
               "worker_threads": _threads(), "prediction_ok": ok})
    _app_model = model = None  # shutting down: the worker releases its model
    gc.collect()
    conn.send({"released": True})
    conn.close()


def _server(impl_name: str, lazy_name: str, mode: str, intra_op_threads: int,
            bound_s: float) -> dict[str, Any]:
    """The server process: (pre)load, start one worker, collect what it reported."""
    import multiprocessing

    impl, lazy = importlib.import_module(impl_name), importlib.import_module(lazy_name)
    loader = None
    if mode == "preload":
        _preload(lazy, intra_op_threads)  # gunicorn --preload: load once, before the workers
    else:  # fork while a thread of the server is inside the load
        loader = threading.Thread(target=_preload, args=(lazy, intra_op_threads),
                                  kwargs={"held_open": True}, name="preload", daemon=True)
        loader.start()
        _inside.wait(bound_s)
    ours, theirs = multiprocessing.Pipe(duplex=False)
    worker = impl.start_worker(serve_one_request, lazy_name, intra_op_threads, theirs,
                               bound_s / 4, name="model-worker")
    theirs.close()
    seen: dict[str, Any] = {"released": False, "get_hung": False}
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        if not ours.poll(max(0.0, deadline - time.monotonic())):
            break
        try:
            seen.update(ours.recv())
        except EOFError:  # the worker is gone (exited or crashed)
            break
    worker.join(max(0.0, deadline - time.monotonic()))
    exitcode = worker.exitcode
    if worker.is_alive():
        worker.kill()
        worker.join(5.0)
        exitcode = None
    _release.set()
    if loader is not None:
        loader.join(bound_s)
    return {**seen, "exitcode": exitcode}


def run_server(argv: list[str], timeout_s: float,
               label: str) -> tuple[subprocess.Popen[str], str, str]:
    """Run a server process in its own process group (one kill reaches its workers too) and
    wait for it within ``timeout_s``; return it with its stdout and stderr.

    Raises:
        HangError: if it outlives ``timeout_s`` (the whole group is killed first).
    """
    from demos.harness import HangError

    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        out, err = server.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.communicate()
        raise HangError(f"{label} still running after {timeout_s}s") from None
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    return server, out, err


def worker_trial(impl: Any, *, intra_op_threads: int = 4, mode: str = "preload",
                 lazy: Any = None, timeout_s: float = 2 * WORKER_BOUND_S) -> WorkerTrial:
    """Run :func:`_server` in a fresh interpreter under ``timeout_s``; see the module doc.

    Args:
        impl: the module whose ``start_worker`` starts the worker (``broken``, ``fixed``).
        mode: ``"preload"`` (the model is loaded before the worker starts) or
            ``"during-load"`` (the worker starts while a server thread is inside the load,
            held there by an Event until the worker has reported).
        lazy: the module whose ``LazyModel`` holds the app's model (default: ``impl``).
        timeout_s: the server gives its worker half of it, then kills it (``exitcode``
            None); a worker's ``get()`` gets an eighth, then counts as hung.

    The server and everything it started form one process group, killed at the bound.

    Raises:
        HangError: if the server itself outlives ``timeout_s``.
    """

    if mode not in ("preload", "during-load"):
        raise ValueError(f"mode must be 'preload' or 'during-load', got {mode!r}")
    name, lazy_name = impl.__name__, (lazy or impl).__name__
    server, out, err = run_server(
        [sys.executable, "-m", __name__, name, lazy_name, mode, str(intra_op_threads),
         str(timeout_s / 2)], timeout_s, f"server for {name}")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if server.returncode != 0 or not lines:
        raise RuntimeError(f"server for {name} failed ({server.returncode}): {err[-400:]}")
    seen = json.loads(lines[-1])
    return WorkerTrial(
        impl=name.rsplit(".", 1)[-1], intra_op_threads=intra_op_threads,
        server_pid=server.pid, worker_pid=seen.get("worker_pid"),
        model_pid=seen.get("model_pid"), worker_threads=seen.get("worker_threads"),
        prediction_ok=seen.get("prediction_ok"), released=bool(seen.get("released")),
        exitcode=seen.get("exitcode"), get_hung=bool(seen.get("get_hung")), log=err,
    )


if __name__ == "__main__":
    print(json.dumps(_server(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]),
                             float(sys.argv[5]))), flush=True)

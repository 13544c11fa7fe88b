"""What this installation does, observed (for ``demos.compat`` and the chapter's notes).

* ``cached_property_lock``: 8 threads, started together by a barrier, read one
  ``functools.cached_property`` whose getter waits (at most ``HOLD_S``) for all 8 to be
  inside it. Without a lock all 8 get in and the getter runs 8 times; with a lock the first
  waits alone, gives up, and the others find its cached value: the getter runs once.
* ``forked_worker_session``: a worker forked after the model was loaded (the chapter's
  broken ``start_worker``, in a child process under a timeout): how many threads it has and
  what happens when it destroys the inherited session (``intra_op_num_threads=4``).
* ``forked_child_exit``: a child forked from a process that has imported onnxruntime (no
  session) ends with ``sys.exit(0)``, as a gunicorn worker does, so the interpreter's and
  the C++ runtime's exit handlers run: does it exit (probed in a child under a timeout)?
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading

__all__ = [
    "CI_MARKERS",
    "EXIT_BOUND_S",
    "HOLD_S",
    "PROBES",
    "cached_property_getter_runs",
    "forked_child_exit",
    "observe",
    "threads_after_import",
]

#: How long a getter waits for the other threads before giving up (the locked case).
HOLD_S = 1.0

PROBES: dict[str, str] = {
    "cached_property_lock": "Do 8 threads reading one functools.cached_property at once "
                            "run its getter once (a lock) or once each?",
    "forked_worker_session": "A worker forked after an onnxruntime session (4 intra-op "
                             "threads) was created: its threads, and destroying the session?",
    "forked_child_exit": "Does a child forked after `import onnxruntime` finish a normal "
                         "interpreter exit (sys.exit), as a gunicorn worker does (CI and "
                         "GITHUB_ACTIONS unset)?",
}

#: Variables that change what ``import onnxruntime`` starts (seen here: with either set, one
#: OS thread fewer, and a forked child's exit no longer hangs); the probe runs without them.
CI_MARKERS = ("CI", "GITHUB_ACTIONS")

#: How long the forked child of ``forked_child_exit`` gets to exit.
EXIT_BOUND_S = 3.0

_EXIT_PROBE = """
import os, signal, sys, time
import onnxruntime
pid = os.fork()
if pid == 0:
    sys.exit(0)
deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print(os.waitstatus_to_exitcode(status))
        sys.exit(0)
    time.sleep(0.01)
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
print("hung")
"""


def forked_child_exit(bound_s: float = EXIT_BOUND_S) -> str:
    """What a forked child's ``sys.exit(0)`` did: ``"exit 0"``, ``"killed by SIG…"``, ``"hung"``."""
    import signal
    import subprocess
    import sys

    # CI and GITHUB_ACTIONS set (as on a CI machine), `import onnxruntime` 1.32 starts one OS
    # thread fewer and the child exits; the probe answers for a reader's ordinary shell.
    env = {k: v for k, v in os.environ.items() if k not in CI_MARKERS}
    probe = subprocess.run([sys.executable, "-c", _EXIT_PROBE, str(bound_s)],
                           capture_output=True, text=True, timeout=bound_s + 30, env=env)
    seen = probe.stdout.strip().splitlines()[-1] if probe.stdout.strip() else "?"
    if seen == "hung":
        return "hangs in exit (killed at the bound)"
    code = int(seen)
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"


def cached_property_getter_runs(threads: int = 8, hold_s: float = HOLD_S) -> int:
    """How many times the getter ran when ``threads`` threads read the property together."""
    inside = threading.Barrier(threads)  # filled only if nothing serialises the getter
    runs: list[int] = []  # list.append is atomic

    class Holder:
        @functools.cached_property
        def model(self) -> object:
            runs.append(1)
            # Broken barrier: this thread was alone in the getter, so the getter is locked.
            with contextlib.suppress(threading.BrokenBarrierError):
                inside.wait(hold_s)
            return object()

    holder = Holder()
    start = threading.Barrier(threads)

    def read() -> None:
        start.wait(10 * hold_s)
        holder.model  # noqa: B018 - the read is the experiment

    workers = [threading.Thread(target=read, name=f"cached-property-{i}", daemon=True)
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(20 * hold_s)
    if any(worker.is_alive() for worker in workers):
        raise TimeoutError(f"cached_property probe still running after {20 * hold_s}s")
    return len(runs)


def observe() -> dict[str, str]:
    """Probe id -> the behaviour seen on this installation, in a few words."""
    from demos.publication import broken
    from demos.publication.forking import worker_trial

    runs = cached_property_getter_runs()
    lock = ("getter runs once: locked" if runs == 1
            else f"getter runs {runs} times for 8 threads: no lock")
    trial = worker_trial(broken, intra_op_threads=4)
    threads = "?" if trial.worker_threads is None else trial.worker_threads
    fork = (f"{threads} thread(s) in the worker; destroying the session: "
            f"{'ok' if trial.released else 'crash'}, {trial.outcome}")
    return {"cached_property_lock": lock, "forked_worker_session": fork,
            "forked_child_exit": forked_child_exit()}


def threads_after_import(*, ci_set: bool) -> int:
    """OS threads of a fresh interpreter right after ``import onnxruntime`` (Linux /proc),
    with the CI markers set or removed: what makes ``forked_child_exit`` differ on CI."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in CI_MARKERS}
    if ci_set:
        env["CI"] = "true"
    code = ("import os, time, onnxruntime; time.sleep(0.5); "
            "print(len(os.listdir('/proc/self/task')))")
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60, env=env, check=True)
    return int(probe.stdout.strip())

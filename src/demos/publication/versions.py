"""What this installation does, observed (for ``demos.compat`` and the chapter's notes).

* ``cached_property_lock``: 8 threads, started together by a barrier, read one
  ``functools.cached_property`` whose getter waits (at most ``HOLD_S``) for all 8 to be
  inside it. Without a lock all 8 get in and the getter runs 8 times; with a lock the first
  waits alone, gives up, and the others find its cached value: the getter runs once.
* ``forked_worker_session``: a worker forked after the model was loaded (the chapter's
  broken ``start_worker``, in a child process under a timeout): how many threads it has and
  what happens when it destroys the inherited session (``intra_op_num_threads=4``).
"""

from __future__ import annotations

import contextlib
import functools
import threading

__all__ = ["HOLD_S", "PROBES", "cached_property_getter_runs", "observe"]

#: How long a getter waits for the other threads before giving up (the locked case).
HOLD_S = 0.5

PROBES: dict[str, str] = {
    "cached_property_lock": "Do 8 threads reading one functools.cached_property at once "
                            "run its getter once (a lock) or once each?",
    "forked_worker_session": "A worker forked after an onnxruntime session (4 intra-op "
                             "threads) was created: its threads, and destroying the session?",
}


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
    return {"cached_property_lock": lock, "forked_worker_session": fork}

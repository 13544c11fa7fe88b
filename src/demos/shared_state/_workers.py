"""The worker processes of the "process per worker" layout (:mod:`demos.shared_state.layouts`).

Each worker is a spawned process with one session per ``intra_op``; the parent orders a
burst, every worker starts it together (a barrier), and each answers with its latencies and
the CPU seconds it spent (its own pool threads included), so that the layout's CPU per
request counts every process, as the thread layouts count every thread.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Sequence
from typing import Any

from demos.harness import HangError

__all__ = ["Processes"]


def _child(model_path: str, intra_ops: Sequence[int], spinning: bool, feeds: dict[str, Any],
           conn: Any, ready: Any, timeout_s: float) -> None:
    """A worker process: one session per ``intra_op``; runs bursts when the parent asks."""
    from demos.shared_state.layouts import burst, new_threads, session

    sessions, added = {}, {}
    for k in intra_ops:
        sessions[k], added[k] = new_threads(lambda k=k: session(model_path, k, spinning=spinning))
        sessions[k].run(None, feeds)  # warm-up
    conn.send(added)
    while True:
        order = conn.recv()
        if order is None:
            return
        k, calls = order
        ready.wait(timeout_s)  # every worker starts together
        latencies, _, cpu = burst([sessions[k]], feeds, calls, timeout_s)
        conn.send((latencies, cpu))


class Processes:
    """``workers`` spawned processes, each with its own sessions (one per ``intra_op``)."""

    def __init__(self, model_path: str, workers: int, intra_ops: Sequence[int], spinning: bool,
                 feeds: dict[str, Any], timeout_s: float) -> None:
        ctx = mp.get_context("spawn")  # never fork a process that holds onnxruntime pools
        self._timeout_s = timeout_s
        self._ready = ctx.Barrier(workers)
        self._pipes, self._procs = [], []
        for _ in range(workers):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_child, args=(model_path, tuple(intra_ops), spinning, feeds,
                                                    theirs, self._ready, timeout_s), daemon=True)
            proc.start()
            self._pipes.append(mine)
            self._procs.append(proc)
        self.pool_threads = [self._recv(p) for p in self._pipes]

    def _recv(self, pipe: Any) -> Any:
        if not pipe.poll(self._timeout_s):
            raise HangError(f"a worker process did not answer within {self._timeout_s}s")
        return pipe.recv()

    def run(self, intra_op: int, calls: int) -> tuple[list[float], float, float]:
        """Every worker's latencies, the window, and the CPU seconds the workers spent."""
        began = time.perf_counter()
        for pipe in self._pipes:
            pipe.send((intra_op, calls))
        answers = [self._recv(pipe) for pipe in self._pipes]
        # The window includes the hand-off to the workers: a dispatcher pays it too.
        window = time.perf_counter() - began
        return [x for lat, _ in answers for x in lat], window, sum(cpu for _, cpu in answers)

    def close(self) -> None:
        for pipe in self._pipes:
            pipe.send(None)
        for proc in self._procs:
            proc.join(self._timeout_s)
            if proc.is_alive():
                proc.kill()

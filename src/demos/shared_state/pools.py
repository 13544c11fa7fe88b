"""Spinning intra-op threads, and onnxruntime's global thread pools, observed.

* :func:`spinning`: ``session.intra_op.allow_spinning`` "1" (onnxruntime's default: a pool
  thread busy-waits for the next piece of work after each one) against "0" (it sleeps and
  is woken). Measured at batch 1 with one request, and with several request threads, for
  latency, throughput and the CPU seconds the process burns per request.
* :func:`global_pools`: what ``onnxruntime.set_global_thread_pool_sizes`` and
  ``SessionOptions.use_per_session_threads = False`` do on this installation. It runs in a
  child process, because global pools are set once per process and, once set, every later
  session that keeps per-session threads is refused.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from demos import knobs
from demos.models import Encoder
from demos.shared_state.layouts import burst, new_threads, session

__all__ = ["SpinPoint", "global_pools", "spinning"]


@dataclass(frozen=True)
class SpinPoint:
    """One configuration of :func:`spinning`."""

    spinning: bool
    layout: str  # "one request", "shared session" or "session per thread"
    threads: int
    latencies_s: tuple[float, ...]
    window_s: float
    cpu_s: float

    @property
    def calls_per_s(self) -> float:
        return len(self.latencies_s) / self.window_s if self.window_s > 0 else float("inf")

    @property
    def p50_ms(self) -> float:
        return 1e3 * float(np.percentile(self.latencies_s, 50))

    @property
    def p99_ms(self) -> float:
        return 1e3 * float(np.percentile(self.latencies_s, 99))

    @property
    def cpu_ms_per_call(self) -> float:
        return 1e3 * self.cpu_s / len(self.latencies_s)


def spinning(encoder: Encoder, *, intra_op: int = 2, threads: int = 4, calls: int = 24,
             rounds: int = 2, batch: int = 1, timeout_s: float = 120.0) -> list[SpinPoint]:
    """Spinning on vs off, side by side: one request, ``threads`` on a shared session, and
    ``threads`` each with its own session; every session has ``intra_op`` threads.

    Each configuration makes ``calls`` calls per request thread, split over ``rounds`` that
    alternate the order, so a neighbour's load falls on both settings alike.
    """
    knobs.integer("intra_op", intra_op, high=64)
    knobs.integer("threads", threads, high=16)
    knobs.integer("calls", calls)
    knobs.integer("rounds", rounds, high=calls)
    knobs.integer("batch", batch, high=32)
    knobs.seconds("timeout_s", timeout_s)
    from demos.shared_state.workload import requests

    feeds = encoder.feeds(requests(1, 1, batch)[0][0])
    path = str(encoder.model_path)
    sessions = {spin: [session(path, intra_op, spinning=spin) for _ in range(threads)]
                for spin in (True, False)}
    for pool in sessions.values():
        for s in pool:
            s.run(None, feeds)
    layouts = {"one request": lambda p: p[:1], "shared session": lambda p: p[:1] * threads,
               "session per thread": lambda p: p}
    configs = [(spin, layout) for layout in layouts for spin in (True, False)]
    seen: dict[Any, tuple[list[float], float, float]] = {c: ([], 0.0, 0.0) for c in configs}
    for r in range(rounds):
        for spin, layout in configs if r % 2 == 0 else reversed(configs):
            lat, window, cpu = burst(layouts[layout](sessions[spin]), feeds,
                                     max(1, round(calls / rounds)), timeout_s)
            kept, w, c = seen[spin, layout]
            seen[spin, layout] = (kept + lat, w + window, c + cpu)
    return [SpinPoint(spin, layout, 1 if layout == "one request" else threads,
                      tuple(seen[spin, layout][0]), seen[spin, layout][1], seen[spin, layout][2])
            for spin, layout in configs]


def _gist(message: str) -> str:
    """The sentences of an onnxruntime error that a reader needs: no source path, no C++
    lambda signature, at most about 200 characters, cut at a sentence boundary."""
    line = message.strip().splitlines()[-1] if message.strip() else ""
    line = line.rsplit(")> ", 1)[-1]
    kept: list[str] = []
    for sentence in reversed(re.split(r"(?<=\.) ", line)):
        if kept and len(sentence) + sum(map(len, kept)) > 200:
            break
        kept.insert(0, sentence)
    return " ".join(kept)


def _child(model_path: str, intra_op: int, threads: int, calls: int, feeds_json: str) -> None:
    """Runs in a fresh process; prints one JSON object with what it saw."""
    import onnxruntime as ort

    feeds = {k: np.asarray(v, dtype=np.int64) for k, v in json.loads(feeds_json).items()}
    out: dict[str, Any] = {"signature": (ort.set_global_thread_pool_sizes.__doc__ or "")
                           .splitlines()[0]}

    def global_session() -> Any:
        options = ort.SessionOptions()
        options.use_per_session_threads = False
        options.log_severity_level = 3
        return ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])

    def refusal(make: Any) -> str | None:
        try:
            make()
        except Exception as error:  # the message is what we report
            return _gist(str(error))
        return None

    out["global_before_set"] = refusal(global_session)
    own, out["own_pools_added"] = new_threads(
        lambda: [session(model_path, intra_op) for _ in range(threads)])
    _, out["set_added"] = new_threads(lambda: ort.set_global_thread_pool_sizes(intra_op, 1))
    shared, out["global_sessions_added"] = new_threads(
        lambda: [global_session() for _ in range(threads)])
    out["per_session_after_set"] = refusal(lambda: session(model_path, intra_op))
    out["set_again"] = refusal(lambda: ort.set_global_thread_pool_sizes(1, 1))
    for s in own + shared:
        s.run(None, feeds)
    rates: dict[str, list[Any]] = {"own pools": [[], 0.0], "global pool": [[], 0.0]}
    for r in range(2):  # interleaved: a neighbour's load falls on both alike
        for name, pool in ((("own pools", own), ("global pool", shared))[:: 1 - 2 * (r % 2)]):
            lat, window, _ = burst(pool, feeds, max(1, calls // 2), 60.0)
            rates[name][0] += lat
            rates[name][1] += window
    out["serving"] = {name: {"calls_per_s": len(lat) / w,
                             "p99_ms": 1e3 * float(np.percentile(lat, 99))}
                      for name, (lat, w) in rates.items()}
    print(json.dumps(out))


def global_pools(encoder: Encoder, *, intra_op: int = 2, threads: int = 4, calls: int = 24,
                 timeout_s: float = 120.0) -> dict[str, Any]:
    """In a fresh process: ``threads`` sessions with their own pools of ``intra_op`` threads,
    then ``set_global_thread_pool_sizes(intra_op, 1)`` and ``threads`` sessions that use the
    global pools; what each step added or refused, then both sets served from ``threads``
    request threads (a session each), interleaved.

    Raises:
        RuntimeError: if the child process fails, with its stderr.
    """
    knobs.integer("intra_op", intra_op, high=64)
    knobs.integer("threads", threads, high=16)
    knobs.integer("calls", calls)
    knobs.seconds("timeout_s", timeout_s)
    from demos.shared_state.workload import requests

    feeds = {k: np.asarray(v).tolist()
             for k, v in encoder.feeds(requests(1, 1, 4)[0][0]).items()}
    code = ("import sys; from demos.shared_state.pools import _child; "
            "_child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), "
            "sys.argv[5])")
    args: Sequence[str] = [sys.executable, "-c", code, str(encoder.model_path), str(intra_op),
                           str(threads), str(calls), json.dumps(feeds)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the global-pool probe failed ({done.returncode}): "
                           f"{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])

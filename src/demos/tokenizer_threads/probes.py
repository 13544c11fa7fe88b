"""Experiments that can hang a process, each run in its own child process under a timeout.

Every probe is deterministic by construction. Where a thread must be *inside*
``encode_batch`` when something happens (a fork, a configuration call), the tokenizer gets a
pre-tokenizer written in Python that signals an Event on its first text and then waits
until the other side has acted: the batch is provably in flight, holding whatever lock or
borrow the installed ``tokenizers`` takes, at that moment. Where a thread must have left
it, the probe joins it first. A probe that does not finish within its bound is a
deadlock, not a slow machine: nothing it waits for can ever happen.

Each probe runs in ``python -m demos.tokenizer_threads.probe_child NAME TOKENIZER_JSON_FILE
[MODULE]`` (:mod:`.probe_child`, the child's side); it prints ``OUTCOME: …`` lines, then
``PROBE-DONE`` when it finishes. :func:`run_probes` starts them in new process groups,
waits up to a bound and kills every group it started (the probe, and any process the
probe forked), so the caller always finishes and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from demos.tokenizer_threads import probe_child
from demos.tokenizer_threads.probe_child import DONE, OUTCOME, READY_ENV

__all__ = ["PROBES", "TIMING_PROBES", "ProbeResult", "fork_anytime_rate", "run_probes"]

#: name -> (what it does, TOKENIZERS_PARALLELISM for it: "true" or None for unset)
PROBES: dict[str, tuple[str, str | None]] = {
    "fork_after_batch_parallel": ("PARALLELISM=true: batch, fork, child encode_batch", "true"),
    "fork_after_batch_default": ("PARALLELISM unset: batch, fork, child encode_batch", None),
    "fork_inside_batch_encode": ("fork while a thread is inside encode_batch; child encodes",
                                 None),
    "fork_inside_batch_configure": (
        "fork while a thread is inside encode_batch; child configures", None),
    "configure_inside_batch": (
        "configure while a thread is inside a Python pre-tokenizer", None),
    "configure_during_batch": ("configure while a thread runs a long Rust batch", None),
    "pool": ("batch, then <module>.encode_in_processes", "true"),
}
#: Not deterministic, on purpose: forks at an arbitrary moment of a plain batch, many times,
#: to measure how often an unlucky fork lands inside it (see :func:`fork_anytime_rate`).
TIMING_PROBES: dict[str, tuple[str, str | None]] = {
    "fork_anytime_configure": ("fork at an arbitrary moment of a batch; child configures", None),
}
#: The most a probe may take to start its interpreter and load the tokenizer.
STARTUP_S = 60.0


@dataclass(frozen=True)
class ProbeResult:
    """What one probe did: ``status`` is "ok", "hung" (killed at the bound) or "failed".

    ``outcomes`` are the probe's ``OUTCOME:`` lines (what it observed before it ended or
    was killed), ``output`` everything else it printed.
    """

    name: str
    status: str
    elapsed_s: float
    output: str
    outcomes: tuple[str, ...] = ()

    @property
    def hung(self) -> bool:
        return self.status == "hung"


def run_probes(
    names: list[str], tokenizer_json: str, *, timeout_s: float = 8.0, module: str = ""
) -> list[ProbeResult]:
    """Run probes side by side in child processes; kill whatever outlives ``timeout_s``.

    The bound counts from the moment each probe has started its interpreter and loaded
    the tokenizer (it says so by creating a file), so a loaded machine's slow start-up is
    never mistaken for a hang.

    Concurrency: blocks for at most ``timeout_s`` plus start-up (itself bounded by
    ``STARTUP_S``) and kill time.
    """
    known = {**PROBES, **TIMING_PROBES}
    for name in names:
        if name not in known:
            raise ValueError(f"probe must be one of {sorted(known)}, got {name!r}")
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
    with tempfile.TemporaryDirectory(prefix="tokenizer-probes-") as folder:
        path = os.path.join(folder, "tokenizer.json")
        with open(path, "w", encoding="utf-8") as file:
            file.write(tokenizer_json)
        started = []
        for index, name in enumerate(names):
            env = {k: v for k, v in os.environ.items() if k != "TOKENIZERS_PARALLELISM"}
            if known[name][1] is not None:
                env["TOKENIZERS_PARALLELISM"] = known[name][1]
            env["PYTHONWARNINGS"] = "ignore::DeprecationWarning"  # fork() with threads, 3.12+
            env[READY_ENV] = os.path.join(folder, f"ready-{index}")
            process = subprocess.Popen(
                [sys.executable, "-m", probe_child.__name__, name, path, module], env=env,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True,  # its own process group: we kill what it forks too
            )
            started.append((name, process, time.perf_counter()))
        ended = _wait_all([(p, os.path.join(folder, f"ready-{i}"))
                           for i, (_, p, _) in enumerate(started)], timeout_s)
        return [_collect(name, p, t0, ended[i]) for i, (name, p, t0) in enumerate(started)]


def _wait_all(
    processes: list[tuple[subprocess.Popen, str]], timeout_s: float
) -> list[float | None]:
    """When each process exited (perf_counter), or None if it outlived its bound.

    A process's bound is ``timeout_s`` after its ready file appeared, or ``STARTUP_S``
    after the start if it never got that far.
    """
    ended: list[float | None] = [None] * len(processes)
    start = time.monotonic()
    deadlines = [start + STARTUP_S] * len(processes)
    ready = [False] * len(processes)
    while None in ended:
        now = time.monotonic()
        waiting = False
        for i, (process, ready_file) in enumerate(processes):
            if ended[i] is not None:
                continue
            if process.poll() is not None:
                ended[i] = time.perf_counter()
                continue
            if not ready[i] and os.path.exists(ready_file):
                ready[i], deadlines[i] = True, min(deadlines[i], now + timeout_s)
            waiting = waiting or now < deadlines[i]
        if not waiting:
            break
        time.sleep(0.02)
    return ended


def _collect(name: str, process: subprocess.Popen, t0: float, ended: float | None) -> ProbeResult:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the probe if it hung, and anything it forked
    output, _ = process.communicate()
    lines = output.strip().splitlines()
    outcomes = tuple(line[len(OUTCOME):] for line in lines if line.startswith(OUTCOME))
    rest = "\n".join(line for line in lines if not line.startswith(OUTCOME) and line != DONE)
    if ended is None:
        return ProbeResult(name, "hung", time.perf_counter() - t0, rest, outcomes)
    status = "ok" if process.returncode == 0 and DONE in lines else "failed"
    return ProbeResult(name, status, ended - t0, rest, outcomes)


def fork_anytime_rate(tokenizer_json: str, trials: int = 8) -> tuple[int, int]:
    """(hung, trials): children that hung configuring after a fork at an arbitrary moment.

    A rate, not a verdict: it depends on where the batch happens to be at each fork.
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be an int >= 1, got {trials!r}")
    (result,) = run_probes(["fork_anytime_configure"], tokenizer_json,
                           timeout_s=10.0 + 3 * trials, module=str(trials))
    if result.status != "ok" or not result.outcomes:
        raise RuntimeError(f"the probe {result.status}: {result.output[-200:]}")
    hung = int(result.outcomes[0].split()[0])
    return hung, trials

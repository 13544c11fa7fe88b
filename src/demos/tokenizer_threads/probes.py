"""Experiments that can hang a process, each run in its own child process under a timeout.

Every probe is deterministic by construction. Where a thread must be *inside*
``encode_batch`` when something happens (a fork, a configuration call), the tokenizer gets a
pre-tokenizer written in Python that signals an Event on its first text and then waits
until the other side has acted: the batch is provably in flight, holding whatever lock or
borrow the installed ``tokenizers`` takes, at that moment. Where a thread must have left
it, the probe joins it first. A probe that does not finish within its bound is a
deadlock, not a slow machine: nothing it waits for can ever happen.

``python -m demos.tokenizer_threads.probes NAME TOKENIZER_JSON_FILE [MODULE]`` runs one
probe; it prints ``OUTCOME: …`` lines, then ``PROBE-DONE`` when it finishes.
:func:`run_probes` starts them in new process groups, waits up to a bound and kills every
group it started (the probe, and any process the probe forked), so the caller always
finishes and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

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
_DONE = "PROBE-DONE"
_READY_ENV = "TOKENIZER_PROBE_READY_FILE"
#: The most a probe may take to start its interpreter and load the tokenizer.
STARTUP_S = 60.0
_OUTCOME = "OUTCOME: "
_TEXT = "the quick brown fox jumps over the lazy dog " * 40
#: How long a held thread waits for the other side before giving up (never reached when
#: the probe works: the other side acts within milliseconds, or deadlocks for ever).
_HOLD_S = 20.0


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
            env[_READY_ENV] = os.path.join(folder, f"ready-{index}")
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, name, path, module], env=env,
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
    outcomes = tuple(line[len(_OUTCOME):] for line in lines if line.startswith(_OUTCOME))
    rest = "\n".join(line for line in lines if not line.startswith(_OUTCOME) and line != _DONE)
    if ended is None:
        return ProbeResult(name, "hung", time.perf_counter() - t0, rest, outcomes)
    status = "ok" if process.returncode == 0 and _DONE in lines else "failed"
    return ProbeResult(name, status, ended - t0, rest, outcomes)


def _report(outcome: str) -> None:
    """Print one observation, unbuffered (a forked child writes to the same pipe)."""
    os.write(1, f"{_OUTCOME}{outcome}\n".encode())


def _attempt(action) -> str:
    """Run ``action``; "returned" or the exception it raised, in a few words."""
    try:
        action()
    except Exception as error:  # the observation is what was raised
        return f"raised {type(error).__name__}: {error}"
    return "returned"


def _held_batch(tokenizer):
    """Start a batch on a thread and return once that thread is provably inside it.

    The tokenizer's pre-tokenizer becomes a Python one that, on its first text in this
    process, sets ``inside`` and then waits for ``release``. Returns
    ``(thread, release)``: the caller acts, then sets ``release`` (or never can).
    """
    from tokenizers.pre_tokenizers import PreTokenizer

    inside, release, me = threading.Event(), threading.Event(), os.getpid()

    class HoldFirstText:  # a pre-tokenizer written in Python (runs with the GIL)
        def pre_tokenize(self, pretok) -> None:
            if os.getpid() == me and not inside.is_set():
                inside.set()
                release.wait(_HOLD_S)
            pretok.split(lambda _, piece: piece.split(" ", "removed"))  # words

    tokenizer.pre_tokenizer = PreTokenizer.custom(HoldFirstText())
    thread = threading.Thread(target=lambda: tokenizer.encode_batch([_TEXT] * 8),
                              name="probe-batch", daemon=True)
    thread.start()
    if not inside.wait(_HOLD_S):
        raise RuntimeError("the batch never reached its pre-tokenizer")
    return thread, release


def _fork_then(child) -> None:
    """Fork; the child reports what ``child()`` did and leaves without any cleanup."""
    pid = os.fork()
    if pid == 0:
        _report(f"child {_attempt(child)}")
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print(f"child exit status {status}")


def _main(name: str, path: str, module: str) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    ready = os.environ.get(_READY_ENV)
    if ready:  # the parent's bound starts now
        with open(ready, "w", encoding="utf-8"):
            pass
    if name.startswith("fork_after_batch"):
        tokenizer.encode_batch([_TEXT] * 64)  # done: no thread is inside the tokenizer now
        _fork_then(lambda: tokenizer.encode_batch([_TEXT] * 64))
    elif name.startswith("fork_inside_batch"):
        thread, release = _held_batch(tokenizer)
        child = (lambda: tokenizer.encode_batch([_TEXT] * 8)) if name.endswith("encode") \
            else (lambda: tokenizer.enable_truncation(16))
        pid = os.fork()  # the batch thread is inside encode_batch, waiting for `release`
        if pid == 0:
            _report(f"child {_attempt(child)}")
            os._exit(0)
        release.set()
        thread.join(_HOLD_S)
        _, status = os.waitpid(pid, 0)
        print(f"child exit status {status}")
    elif name == "configure_inside_batch":
        thread, release = _held_batch(tokenizer)
        # The batch thread is inside its pre-tokenizer. If the call below waits for the
        # batch while holding the GIL, the pre-tokenizer can never return: a deadlock.
        _report(_attempt(lambda: tokenizer.enable_truncation(16)))
        release.set()
        thread.join(_HOLD_S)
    elif name == "configure_during_batch":
        lengths: list[int] = []
        thread = threading.Thread(
            target=lambda: lengths.extend(len(e) for e in tokenizer.encode_batch([_TEXT] * 500)),
            name="probe-batch", daemon=True)
        thread.start()
        _report(_attempt(lambda: tokenizer.enable_truncation(16)))
        thread.join(_HOLD_S)
        _report(f"batch torn: {len(set(lengths)) > 1}")
    elif name == "fork_anytime_configure":
        _fork_anytime(tokenizer, trials=int(module or 8))
    elif name == "pool":
        import importlib

        impl = importlib.import_module(module)
        tokenizer.encode_batch([_TEXT] * 64)
        out = impl.encode_in_processes(path_text(path), [[_TEXT] * 8] * 4, processes=2)
        _report(f"{len(out)} chunks encoded")
    print(_DONE, flush=True)


def _fork_anytime(tokenizer, trials: int, child_bound_s: float = 0.5) -> None:
    """Fork at a random moment of a plain batch, ``trials`` times; count hung children."""
    import random

    rng, hung = random.Random(0), 0
    for _ in range(trials):
        thread = threading.Thread(target=lambda: tokenizer.encode_batch([_TEXT] * 100),
                                  name="probe-batch", daemon=True)
        thread.start()
        time.sleep(rng.uniform(0.0, 0.1))  # sometimes inside the batch, sometimes after it
        pid = os.fork()
        if pid == 0:
            _attempt(lambda: tokenizer.enable_truncation(16))  # returned or raised: not hung
            os._exit(0)
        deadline = time.monotonic() + child_bound_s
        while os.waitpid(pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            hung += 1
        thread.join(_HOLD_S)
    _report(f"{hung} of {trials} children hung")


def fork_anytime_rate(tokenizer_json: str, trials: int = 8) -> tuple[int, int]:
    """(hung, trials): children that hung configuring after a fork at an arbitrary moment.

    A rate, not a verdict: it depends on where the batch happens to be at each fork.
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be an int >= 1, got {trials!r}")
    (result,) = run_probes(["fork_anytime_configure"], tokenizer_json,
                           timeout_s=10.0 + trials, module=str(trials))
    if result.status != "ok" or not result.outcomes:
        raise RuntimeError(f"the probe {result.status}: {result.output[-200:]}")
    hung = int(result.outcomes[0].split()[0])
    return hung, trials


def path_text(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")

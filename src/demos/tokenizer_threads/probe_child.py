"""What each probe of :mod:`.probes` does, inside the child process that runs it.

The parent's side (:func:`.probes.run_probes`: start, bound, kill, collect) and this side
run in different processes and meet only through what the child prints, so they live
apart: this module is all the child interpreter runs, and the only code that can deadlock.
It prints ``OUTCOME: …`` lines (:data:`OUTCOME`), then :data:`DONE` when the probe
finishes.

``python -m demos.tokenizer_threads.probe_child NAME TOKENIZER_JSON_FILE [MODULE]`` runs
one probe. Once the tokenizer is loaded it creates the file named by the :data:`READY_ENV`
variable, so the parent's bound starts there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

__all__ = ["DONE", "OUTCOME", "READY_ENV"]

DONE = "PROBE-DONE"
READY_ENV = "TOKENIZER_PROBE_READY_FILE"
OUTCOME = "OUTCOME: "
_TEXT = "the quick brown fox jumps over the lazy dog " * 40
#: How long a held thread waits for the other side before giving up (never reached when
#: the probe works: the other side acts within milliseconds, or deadlocks for ever).
_HOLD_S = 20.0


def _report(outcome: str) -> None:
    """Print one observation, unbuffered (a forked child writes to the same pipe)."""
    os.write(1, f"{OUTCOME}{outcome}\n".encode())


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
    ready = os.environ.get(READY_ENV)
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
    print(DONE, flush=True)


def _fork_anytime(tokenizer, trials: int, child_bound_s: float = 0.5) -> None:
    """Fork at a random moment of a plain batch, ``trials`` times; count hung children."""
    import random

    rng, hung = random.Random(0), 0
    start = time.perf_counter()
    tokenizer.encode_batch([_TEXT] * 100)
    batch_s = time.perf_counter() - start  # on this machine: a fixed range would decide it
    for _ in range(trials):
        thread = threading.Thread(target=lambda: tokenizer.encode_batch([_TEXT] * 100),
                                  name="probe-batch", daemon=True)
        thread.start()
        time.sleep(rng.uniform(0.0, 2 * batch_s))  # sometimes inside the batch, sometimes after
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


def path_text(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")

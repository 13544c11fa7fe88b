"""Experiments that can hang a process, each run in its own child process under a timeout.

``python -m demos.tokenizer_threads.probes NAME TOKENIZER_JSON_FILE [MODULE]`` runs one
probe and prints ``PROBE-DONE`` when it finishes. :func:`run_probes` starts them in new
process groups, waits up to a bound and kills every group it started (the probe, and any
process the probe forked), so the caller always finishes and leaves nothing behind.
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

__all__ = ["PROBES", "ProbeResult", "run_probes"]

#: name -> (what it does, TOKENIZERS_PARALLELISM for it: "true" or None for unset)
PROBES: dict[str, tuple[str, str | None]] = {
    "fork_after_batch_parallel": ("encode_batch, fork, child encode_batch", "true"),
    "fork_after_batch_default": ("encode_batch, fork, child encode_batch", None),
    "fork_during_batch_encode": ("fork while a thread is in encode_batch; child encodes", None),
    "fork_during_batch_configure": (
        "fork while a thread is in encode_batch; child configures", None),
    "python_pretokenizer": ("Python pre-tokenizer; configure while a thread encodes", None),
    "pool": ("encode_batch, then <module>.encode_in_processes", "true"),
}
_DONE = "PROBE-DONE"
_TEXT = "the quick brown fox jumps over the lazy dog " * 40


@dataclass(frozen=True)
class ProbeResult:
    """What one probe did: ``status`` is "ok", "hung" (killed at the bound) or "failed"."""

    name: str
    status: str
    elapsed_s: float
    output: str

    @property
    def hung(self) -> bool:
        return self.status == "hung"


def run_probes(
    names: list[str], tokenizer_json: str, *, timeout_s: float = 8.0, module: str = ""
) -> list[ProbeResult]:
    """Run probes side by side in child processes; kill whatever outlives ``timeout_s``.

    Concurrency: blocks for at most ``timeout_s`` plus process start-up and kill time.
    """
    for name in names:
        if name not in PROBES:
            raise ValueError(f"probe must be one of {sorted(PROBES)}, got {name!r}")
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s!r}")
    with tempfile.TemporaryDirectory(prefix="tokenizer-probes-") as folder:
        path = os.path.join(folder, "tokenizer.json")
        with open(path, "w", encoding="utf-8") as file:
            file.write(tokenizer_json)
        started = []
        for name in names:
            env = {k: v for k, v in os.environ.items() if k != "TOKENIZERS_PARALLELISM"}
            if PROBES[name][1] is not None:
                env["TOKENIZERS_PARALLELISM"] = PROBES[name][1]
            process = subprocess.Popen(
                [sys.executable, "-m", __name__, name, path, module], env=env,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True,  # its own process group: we kill what it forks too
            )
            started.append((name, process, time.perf_counter()))
        ended = _wait_all([p for _, p, _ in started], timeout_s)
        return [_collect(name, p, t0, ended[i]) for i, (name, p, t0) in enumerate(started)]


def _wait_all(processes: list[subprocess.Popen], timeout_s: float) -> list[float | None]:
    """When each process exited (perf_counter), or None if it outlived the bound."""
    ended: list[float | None] = [None] * len(processes)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and None in ended:
        for i, process in enumerate(processes):
            if ended[i] is None and process.poll() is not None:
                ended[i] = time.perf_counter()
        time.sleep(0.02)
    return ended


def _collect(name: str, process: subprocess.Popen, t0: float, ended: float | None) -> ProbeResult:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # the probe if it hung, and anything it forked
    output, _ = process.communicate()
    if ended is None:
        return ProbeResult(name, "hung", time.perf_counter() - t0, output.strip())
    status = "ok" if process.returncode == 0 and _DONE in output else "failed"
    return ProbeResult(name, status, ended - t0, output.replace(_DONE, "").strip())


def _in_flight(tokenizer, batch: int = 4000) -> tuple[threading.Thread, threading.Event]:
    """Start encode_batch on a thread; return once it is running (it lasts over a second)."""
    started, done = threading.Event(), threading.Event()

    def work() -> None:
        started.set()
        tokenizer.encode_batch([_TEXT] * batch)
        done.set()

    thread = threading.Thread(target=work, name="probe-batch", daemon=True)
    thread.start()
    started.wait(10)
    time.sleep(0.1)  # a head start into a batch that lasts ~10x longer
    return thread, done


def _fork_then(child, parent_thread: threading.Thread | None = None) -> None:
    pid = os.fork()
    if pid == 0:  # the child: runs `child`, then leaves without running any cleanup
        child()
        os._exit(0)
    if parent_thread is not None:
        parent_thread.join(30)
    _, status = os.waitpid(pid, 0)
    print(f"child exit status {status}")


def _main(name: str, path: str, module: str) -> None:
    from tokenizers import Tokenizer
    from tokenizers.pre_tokenizers import PreTokenizer

    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_truncation()
    if name.startswith("fork_after_batch"):
        tokenizer.encode_batch([_TEXT] * 64)
        _fork_then(lambda: tokenizer.encode_batch([_TEXT] * 64))
    elif name.startswith("fork_during_batch"):
        thread, done = _in_flight(tokenizer)
        in_flight = not done.is_set()
        child = (lambda: tokenizer.encode_batch([_TEXT] * 8)) if name.endswith("encode") \
            else (lambda: tokenizer.enable_truncation(16))
        print(f"batch in flight at fork: {in_flight}", flush=True)  # flushed before the fork
        _fork_then(child, thread)
    elif name == "python_pretokenizer":
        class WholeText:  # a pre-tokenizer written in Python: it needs the GIL for each text
            def pre_tokenize(self, pretok) -> None:
                pretok.split(lambda i, piece: [piece])

        tokenizer.pre_tokenizer = PreTokenizer.custom(WholeText())
        thread, _ = _in_flight(tokenizer, batch=5000)
        try:
            tokenizer.enable_truncation(16)
        except RuntimeError as error:  # tokenizers <= 0.23.0
            print(f"RuntimeError: {error}")
        thread.join(30)
    elif name == "pool":
        import importlib

        impl = importlib.import_module(module)
        tokenizer.encode_batch([_TEXT] * 64)
        out = impl.encode_in_processes(path_text(path), [[_TEXT] * 8] * 4, processes=2)
        print(f"{len(out)} chunks encoded")
    print(_DONE, flush=True)


def path_text(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")

"""Show that a hung ThreadPoolExecutor worker blocks interpreter exit, in a child process.

``concurrent.futures`` joins its workers when the interpreter exits, so a worker blocked
on a future that will never run keeps the process alive after the main thread has given
up with a TimeoutError. Cancelling the queued future (``shutdown(cancel_futures=True)``)
unblocks the worker and the process exits.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

__all__ = ["interpreter_exit"]

_SCRIPT = textwrap.dedent("""
    from concurrent.futures import ThreadPoolExecutor
    from demos.batching import broken
    pool = ThreadPoolExecutor(1, thread_name_prefix="nested")
    try:
        broken.encode_documents(pool, lambda xs: xs, [[1, 2]], timeout_s=0.2)
    except TimeoutError:
        print("the caller timed out", flush=True)
    if CANCEL:
        pool.shutdown(wait=False, cancel_futures=True)
""")


def interpreter_exit(cancel: bool, wait_s: float = 5.0) -> tuple[str, str]:
    """Run the nested-pool hang in a child Python; return (how it ended, what it printed).

    How it ended is ``"exited"`` or ``"stuck at exit"`` (still alive ``wait_s`` seconds
    later; it is then killed and reaped, so nothing is left running).
    """
    if not wait_s > 0:
        raise ValueError(f"wait_s must be > 0, got {wait_s!r}")
    proc = subprocess.Popen([sys.executable, "-c", f"CANCEL = {bool(cancel)}\n{_SCRIPT}"],
                            stdout=subprocess.PIPE, text=True)
    try:
        out, _ = proc.communicate(timeout=wait_s)
        return "exited", out.strip()
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=30)
        return "stuck at exit", out.strip()

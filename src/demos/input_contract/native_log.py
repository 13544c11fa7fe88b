"""Catch what onnxruntime writes to the process's stderr (file descriptor 2), as text.

onnxruntime's C++ logger writes straight to fd 2, past Python's ``sys.stderr``: Python's
``warnings`` and ``logging`` never see it and ``contextlib.redirect_stderr`` cannot catch it
(a Jupyter kernel, ipykernel, forwards fd 2 into the cell's output, with its timestamp and
colour codes). This swaps fd 2 for a temporary file for the duration of a ``with`` block,
so that a cell or a test can print or check what was written.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["NativeLog", "capture_native_stderr"]

# Colour codes, then the timestamp before "[W:onnxruntime:…]": they change on every run.
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ ", re.MULTILINE)


class NativeLog:
    """The lines captured by :func:`capture_native_stderr` (filled in when the block exits)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def capture_native_stderr() -> Iterator[NativeLog]:
    """Redirect fd 2 to a temporary file; yield a :class:`NativeLog` filled on exit.

    Concurrency: fd 2 belongs to the whole process, so anything any thread writes to
    stderr during the block is captured too. Do not nest it or use it from two threads.
    """
    log = NativeLog()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield log
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = _COLOUR.sub("", sink.read().decode("utf-8", "replace"))
            text = _TIMESTAMP.sub("", text)
            log.lines = [line for line in text.splitlines() if line.strip()]

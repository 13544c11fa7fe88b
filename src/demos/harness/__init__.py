"""Bounded waits and thread hammers: everything in the book that can hang runs through here.

Two tools:

* :func:`bounded` runs a callable or a coroutine function on a worker thread under a hard
  time bound and returns an :class:`Outcome` instead of hanging the caller. A notebook
  cell, a test or the CLI can therefore *show* a deadlock and still finish.
* :func:`hammer` releases N threads at once from a barrier, each making M calls, and keeps
  every result, exception and timing, so that races are provoked on purpose rather than by
  luck, and nothing a thread saw is lost.

Concurrency: both are safe to call from any thread, including from inside a running event
loop (a Jupyter cell): coroutines get a fresh loop on the worker thread, never the caller's.

Chapters, tests and notebooks import from here; the code lives in
:mod:`~demos.harness.bounded_call`, :mod:`~demos.harness.thread_hammer` and
:mod:`~demos.harness.progress_bars` (the bars both loops and hammers show).
"""

from __future__ import annotations

from demos.harness.bounded_call import HangError, Outcome, bounded
from demos.harness.progress_bars import progress
from demos.harness.thread_hammer import Call, HammerResult, hammer

__all__ = ["Call", "HammerResult", "HangError", "Outcome", "bounded", "hammer", "progress"]

"""A real encoder whose calls take known, different times: the truth for exercise 4.1's mean.

:func:`paced` wraps an :class:`~demos.models.Encoder` so that tokenizing (``feeds``) takes
``tokenize_s`` longer and every model run takes ``delays_s[i % len(delays_s)]`` longer, in
the order the runs start. The real tokenizer and the real session still do the work. Why:
a mean model time is right only if it is the mean of the runs, nothing else. With calls of
equal length, a "mean" that is the last call's time, or that also times tokenization, lands
near the truth; with calls that differ on purpose and a slow tokenizer, it cannot.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Sequence
from typing import Any

from demos.models import Encoder

__all__ = ["PacedSession", "paced"]


class PacedSession:
    """``session`` whose ``run`` first waits the next of ``delays_s``, then really runs."""

    def __init__(self, session: Any, delays_s: Sequence[float]) -> None:
        self._session = session
        self._delays = itertools.cycle(delays_s)
        self._lock = threading.Lock()  # guards the cycle, shared by every request thread

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def run(self, output_names: Any, feeds: dict[str, Any], run_options: Any = None) -> Any:
        with self._lock:
            delay = next(self._delays)
        time.sleep(delay)
        return self._session.run(output_names, feeds, run_options)


def paced(encoder: Encoder, *, delays_s: Sequence[float] = (0.0, 0.2),
          tokenize_s: float = 0.03) -> Encoder:
    """``encoder`` with runs paced by ``delays_s`` and tokenizing ``tokenize_s`` slower."""

    class SlowTokenizing(type(encoder)):  # type: ignore[misc]
        """The same encoder; ``feeds`` (tokenization) takes ``tokenize_s`` longer."""

        def feeds(self, *args: Any, **kwargs: Any) -> Any:
            time.sleep(tokenize_s)
            return super().feeds(*args, **kwargs)

    fields = {f.name: getattr(encoder, f.name) for f in dataclasses.fields(encoder) if f.init}
    fields["session"] = PacedSession(encoder.session, delays_s)
    return SlowTokenizing(**fields)

"""Exercise 4.1's last probe: can ``stats()`` return numbers from the middle of an update?

A wrapper that keeps two numbers (``calls`` and ``total_s``) and updates them one after the
other must not let ``stats()`` read between the two writes: the mean it returns would divide
a total that lacks the last call's time by a count that has it. Waiting for a thread switch
to land there is not a check, so :func:`torn_stats` holds one ``predict`` right after its
first write of a number attribute, calls ``stats()`` from another thread, then lets the
``predict`` finish. What ``stats()`` returned must be the state before that call or after it.
A ``stats()`` that takes the lock the update holds simply waits, and returns the state after.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["torn_stats"]

_NUMBER = (int, float)
#: The longest the held ``predict`` waits to be let go, and a reader of ``stats()`` waits.
HOLD_S = 2.0
#: How long ``stats()`` may take while the update is held before the probe lets it go on.
READ_S = 0.5


def _seen(stats: Any) -> tuple[Any, Any]:
    return getattr(stats, "calls", None), getattr(stats, "mean_s", None)


def torn_stats(model_class: type, encoder: Any, texts: list[str]) -> str | None:
    """None, or what ``stats()`` returned from the middle of another call's update."""
    inside, go, mine = threading.Event(), threading.Event(), threading.local()
    written: list[str] = []

    class Held(model_class):  # type: ignore[misc, valid-type]
        def __setattr__(self, name: str, value: Any) -> None:
            super().__setattr__(name, value)
            if getattr(mine, "armed", False) and type(value) in _NUMBER and not inside.is_set():
                written.append(name)
                inside.set()
                go.wait(HOLD_S)  # held after the first number write: mid-update

    model = Held(encoder)
    model.predict(texts)  # one call first, so that the numbers are not all zero
    before = _seen(model.stats())

    def held_predict() -> None:
        mine.armed = True
        model.predict(texts)

    writer = threading.Thread(target=held_predict, name="probe-held-update", daemon=True)
    writer.start()
    if not inside.wait(HOLD_S):  # no number attribute written: nothing to tear
        writer.join(HOLD_S)
        return None
    read: list[tuple[Any, Any]] = []
    reader = threading.Thread(target=lambda: read.append(_seen(model.stats())),
                              name="probe-stats-reader", daemon=True)
    reader.start()
    reader.join(READ_S)  # a stats() that waits for the update's lock is still waiting
    go.set()
    writer.join(HOLD_S)
    reader.join(HOLD_S)
    after = _seen(model.stats())
    if read and read[0] not in (before, after):
        return (f"stats() ran while another call had written {written[0]} but not yet the "
                f"rest, and returned calls and mean_s from two different moments (neither "
                f"before that call nor after it): read them under the lock that guards "
                f"their update")
    return None

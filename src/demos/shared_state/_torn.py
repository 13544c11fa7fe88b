"""Exercise 4.1's last probe: can ``stats()`` return numbers from the middle of an update?

A wrapper that keeps two numbers (``calls`` and ``total_s``) and updates them one after the
other must not let ``stats()`` read between the two writes: the mean it returns would divide
a total that lacks the last call's time by a count that has it. Waiting for a thread switch
to land there is not a check, and watching attribute writes is not either: the numbers may
live in a dict, a namespace object or a tuple. So :func:`torn_stats` watches one ``predict``
bytecode by bytecode (``sys.settrace`` opcode events; ``sys.monitoring`` instruction events
on Python 3.12 and later) and, from the moment its ``session.run`` returns, pauses it before
every bytecode and calls ``stats()`` from another thread. Every ``stats()`` must return the
state before that call or after it. A ``stats()`` that takes the lock the update holds
simply waits: the probe stops pausing, lets the update finish, and that read returns the
state after.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

__all__ = ["torn_stats"]

#: The longest the probe waits for the held ``predict`` to finish.
HOLD_S = 5.0
#: How long one ``stats()`` may take while the update is paused before the probe lets it go on.
READ_S = 0.5
#: At most this many pauses (bytecodes after the run) per probe: a bound on its time.
MAX_PAUSES = 5000


def _seen(stats: Any) -> tuple[Any, Any]:
    return getattr(stats, "calls", None), getattr(stats, "mean_s", None)


class _Marking:
    """``session`` whose ``run`` tells the armed thread that the model run has returned."""

    def __init__(self, session: Any, mine: threading.local) -> None:
        self._session, self._mine = session, mine

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def run(self, *args: Any, **kwargs: Any) -> Any:
        out = self._session.run(*args, **kwargs)
        if getattr(self._mine, "armed", False):
            self._mine.ran = True
        return out


class _Reader:
    """A thread that calls ``stats()`` on request; its answers arrive on ``answers``."""

    def __init__(self, model: Any) -> None:
        self.asks: queue.Queue[bool] = queue.Queue()
        self.answers: queue.Queue[tuple[Any, Any]] = queue.Queue()
        self._model = model
        threading.Thread(target=self._serve, name="probe-stats-reader", daemon=True).start()

    def _serve(self) -> None:
        while self.asks.get():
            try:
                self.answers.put(_seen(self._model.stats()))
            except Exception as error:  # a stats() that fails mid-update is torn too
                self.answers.put((f"raised {error!r}", None))


@contextlib.contextmanager
def _every_bytecode(pause: Callable[[], None]) -> Iterator[None]:
    """Calls ``pause()`` before every bytecode the calling thread runs inside the block.

    Python 3.12 and later: ``sys.monitoring`` instruction events (process-wide, so the
    callback pauses only this thread); 3.12.1 ignores ``f_trace_opcodes`` set from a trace
    function. Python 3.11: ``sys.settrace`` with opcode events, which trace this thread only.
    """
    me, busy = threading.get_ident(), threading.local()

    def guarded() -> None:
        if threading.get_ident() == me and not getattr(busy, "on", False):
            busy.on = True  # pause() runs bytecode too: never pause inside it
            try:
                pause()
            finally:
                busy.on = False

    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None:
        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "opcode":
                guarded()
            return local

        def enter(frame: FrameType, event: str, arg: Any) -> Any:
            frame.f_trace_opcodes = True
            return local

        sys.settrace(enter)
        try:
            yield
        finally:
            sys.settrace(None)
        return
    tool = next((t for t in range(6) if monitoring.get_tool(t) is None), None)
    if tool is None:
        raise RuntimeError("every sys.monitoring tool id is in use: the probe cannot watch")
    events = monitoring.events.INSTRUCTION
    monitoring.use_tool_id(tool, "exercise 4.1 mid-update probe")
    monitoring.register_callback(tool, events, lambda code, offset: guarded())
    monitoring.set_events(tool, events)
    try:
        yield
    finally:
        monitoring.set_events(tool, 0)
        monitoring.register_callback(tool, events, None)
        monitoring.free_tool_id(tool)


def torn_stats(model_class: type, encoder: Any, texts: list[str]) -> str | None:
    """None, or what is wrong: ``stats()`` read mid-update, or an update never observed."""
    mine = threading.local()
    if dataclasses.is_dataclass(encoder) and not isinstance(encoder, type):
        encoder = dataclasses.replace(encoder, session=_Marking(encoder.session, mine))
    model = model_class(encoder)
    model.predict(texts)  # one call first, so that the numbers are not all zero
    before = _seen(model.stats())
    reader = _Reader(model)
    reads: list[tuple[Any, Any]] = []
    state = {"pauses": 0, "waiting": 0, "done": False}

    def pause() -> None:
        if state["done"] or not getattr(mine, "ran", False):
            return
        state["pauses"] += 1
        reader.asks.put(True)
        try:
            reads.append(reader.answers.get(timeout=READ_S))
        except queue.Empty:  # stats() waits for the lock this update holds: let it go on
            state["waiting"], state["done"] = 1, True
        if state["pauses"] >= MAX_PAUSES:
            state["done"] = True

    def held_predict() -> None:
        mine.armed = True
        with _every_bytecode(pause):
            model.predict(texts)

    writer = threading.Thread(target=held_predict, name="probe-held-update", daemon=True)
    writer.start()
    writer.join(HOLD_S)
    if state["waiting"]:
        with contextlib.suppress(queue.Empty):  # still waiting: the writer is stuck too
            reads.append(reader.answers.get(timeout=HOLD_S))
    reader.asks.put(False)
    if writer.is_alive():
        return "predict did not return within the probe's bound while stats() was read"
    if not state["pauses"]:
        return ("could not observe the update: predict never returned from the encoder's "
                "session.run in the probe (build the model on the encoder it is given)")
    after = _seen(model.stats())
    torn = [r for r in reads if r not in (before, after)]
    if torn:
        return (f"stats() ran while another call was halfway through its update (after its "
                f"model run) and returned calls={torn[0][0]!r}, mean_s={torn[0][1]!r}: "
                f"neither the numbers before that call nor after it. Read them under the "
                f"lock that guards their update, or keep them in one object replaced at once")
    return None

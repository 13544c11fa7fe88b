"""Process plumbing for a service's lifespan: background tasks, and SIGTERM handed back.

uvicorn (and gunicorn's uvicorn worker) exit gracefully on SIGTERM: they stop accepting
connections at once, which a load balancer sees as refused connections. A service that
drains wants the signal first: :func:`on_sigterm` takes it over and :func:`hand_back`
gives it to the server afterwards, as if it had arrived then.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["Tasks", "hand_back", "on_sigterm", "wait_until"]


class Tasks:
    """Named background tasks on the running loop, kept referenced, cancelled together."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def on_sigterm(tasks: Tasks, drain: Callable[[Any], Coroutine[Any, Any, None]]) -> None:
    """On SIGTERM, run ``drain(previous_handler)`` as a task (main thread only; else no-op).

    ``drain`` should end with :func:`hand_back` ``(previous_handler)``.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: Any) -> None:
        loop.call_soon_threadsafe(tasks.spawn, drain(previous), "service-drain")

    signal.signal(signal.SIGTERM, handler)


def hand_back(previous: Any) -> None:
    """Deliver SIGTERM to the handler that was there before :func:`on_sigterm`."""
    if callable(previous):
        signal.signal(signal.SIGTERM, previous)
        previous(signal.SIGTERM, None)
    else:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        signal.raise_signal(signal.SIGTERM)


async def wait_until(done: Callable[[], bool], bound_s: float, poll_s: float = 0.01) -> bool:
    """Poll ``done()`` on the loop until it is true or ``bound_s`` passed; whether it was."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound_s
    while not done():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(poll_s)
    return True

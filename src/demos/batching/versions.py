"""What this Python's asyncio does with timeouts, observed (the chapter's version note).

The batchers catch ``asyncio.TimeoutError`` and ``concurrent.futures.TimeoutError``; the
note in chapter 3 says when those are the built-in ``TimeoutError`` and what an
``except TimeoutError:`` does otherwise. These probes run it on the installed Python; they
never compare ``sys.version_info`` with a table. ``python -m demos compat`` collects them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading

__all__ = ["PROBES", "observe"]

#: probe id -> the question it answers.
PROBES: dict[str, str] = {
    "asyncio_timeout_error": "Is asyncio.TimeoutError the built-in TimeoutError?",
    "futures_timeout_error": "Is concurrent.futures.TimeoutError the built-in TimeoutError?",
    "except_timeout_error_on_wait_for": (
        "What does `except TimeoutError:` do when asyncio.wait_for times out?"),
    "wait_for_implementation": "Is asyncio.wait_for built on asyncio.timeout()?",
}


def _same(cls: type) -> str:
    return "the built-in TimeoutError" if cls is TimeoutError else "a separate class"


def _wait_for_timeout(bound_s: float = 5.0) -> str:
    async def run() -> str:
        try:
            await asyncio.wait_for(asyncio.sleep(1.0), 0.001)
        except TimeoutError:
            return "catches it"
        return "no timeout happened"

    seen: list[str] = []

    def probe() -> None:  # a thread of its own: no event loop is running there
        try:
            seen.append(asyncio.run(run()))
        except BaseException as error:  # what escapes the handler is the observation
            seen.append(f"misses it: {type(error).__module__}.{type(error).__qualname__} "
                        f"propagates")

    thread = threading.Thread(target=probe, name="probe-wait-for", daemon=True)
    thread.start()
    thread.join(bound_s)
    return seen[0] if seen else f"no answer within {bound_s} s"


def _wait_for_implementation() -> str:
    try:
        source = inspect.getsource(asyncio.wait_for)
    except (OSError, TypeError):
        return "source not available"
    return "built on asyncio.timeout()" if "timeouts.timeout(" in source \
        else "its own implementation"


def observe() -> dict[str, str]:
    """probe id -> the behaviour seen on this installation, in a few stable words."""
    return {
        "asyncio_timeout_error": _same(asyncio.TimeoutError),
        "futures_timeout_error": _same(concurrent.futures.TimeoutError),
        "except_timeout_error_on_wait_for": _wait_for_timeout(),
        "wait_for_implementation": _wait_for_implementation(),
    }

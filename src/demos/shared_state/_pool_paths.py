"""Exercise 4.3's last checks: the timeout path and the error path of a buffer pool.

Apart from :mod:`.exercises` so that module stays within its size limit; one job: after the
hammering, a borrow beyond ``size`` must time out, and a block that raises must give its
buffer back exactly once (a buffer put back twice is later handed to two callers at once).
"""

from __future__ import annotations

from typing import Any

from demos.exercises import Verdict, failed, passed
from demos.harness import bounded


def timeout_and_error_paths(pool: Any, size: int, made: list[Any], seen: str) -> Verdict:
    """With ``size`` buffers out, one more borrow must time out; an error must return one."""
    held = [pool.borrow(1.0) for _ in range(size)]
    for cm in held:
        cm.__enter__()
    try:
        beyond = bounded(lambda: pool.borrow(0.05).__enter__(), 2.0, name="borrow-beyond")
    finally:
        for cm in held:
            cm.__exit__(None, None, None)
    if beyond.hung:
        return failed("4.3", f"a borrow beyond {size} held buffers ignored its timeout_s "
                             "and waited")
    if beyond.ok:
        return failed("4.3", f"a borrow beyond {size} held buffers did not time out")
    if not isinstance(beyond.error, TimeoutError):
        return failed("4.3", f"a borrow beyond {size} held buffers raised "
                             f"{type(beyond.error).__name__}, not TimeoutError")
    try:
        with pool.borrow(1.0):
            raise KeyError("the caller's block fails")
    except KeyError:
        pass
    for _ in range(3):  # 3 rounds: a duplicate put back at the end of a queue comes round
        again = [pool.borrow(0.05) for _ in range(size)]
        taken, buffers = [], []
        try:
            for cm in again:
                buffers.append(cm.__enter__())
                taken.append(cm)
        except TimeoutError:
            return failed("4.3", "a buffer was not returned when the caller's block raised")
        finally:
            for cm in taken:
                cm.__exit__(None, None, None)
        if len({id(buffer) for buffer in buffers}) < size:
            return failed("4.3", f"after the caller's block raised, {size} borrows at once got "
                                 f"only {len({id(b) for b in buffers})} distinct buffers: a "
                                 "buffer was put back twice")
    if len(made) > size:  # the slot came back but the buffer was dropped, so one was made
        return failed("4.3", f"a buffer was not returned when the caller's block raised "
                             f"({len(made)} buffers made for a pool of {size})")
    return passed("4.3", f"{seen}, never shared, timeout and error paths right")

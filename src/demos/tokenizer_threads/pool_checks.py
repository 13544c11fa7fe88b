"""Exercise 6.2's pool checks: what a pool of tokenizers must do when held, emptied and refilled.

Called by :func:`demos.tokenizer_threads.exercises.check_2` before it serves requests through
the reader's pool: each check holds checkouts at once, so a pool that shares a copy, hands
out the caller's own tokenizer, ignores its timeout or grows when a tokenizer comes back
twice is caught by construction, not by a lucky interleaving.
"""

from __future__ import annotations

import contextlib
from typing import Any

from tokenizers import Tokenizer

from demos.harness import bounded

__all__ = ["handed_out_twice", "held_at_once"]


def held_at_once(pool: Any, size: int, source: Tokenizer) -> str | None:
    """Check out ``size`` tokenizers and hold them: they must differ, none may be the caller's
    own ``source``, and one more must raise TimeoutError within its timeout; a tokenizer still
    held must not be handed out again, a failed request must check its tokenizer back in, and
    once every tokenizer has been back the pool must still lend ``size`` different ones and no
    more. None when all hold."""
    held, tokenizers = [pool.checkout(timeout_s=1.0) for _ in range(size)], []
    try:
        tokenizers += [manager.__enter__() for manager in held]
    except TimeoutError:  # the copies held stay out: this pool is not used again
        return f"a pool of {size}: {size} checkouts at once did not all succeed (TimeoutError)"

    def one_more() -> Any:
        with pool.checkout(timeout_s=0.2) as got:
            return got

    try:
        distinct = len({id(t) for t in tokenizers})
        outcome = None if distinct < size else bounded(one_more, 5.0, name="tt-ex-checkout")
    finally:
        for manager in held:
            manager.__exit__(None, None, None)
    if outcome is None:
        return f"{size} checkouts held at once got {distinct} tokenizer(s) between them"
    if any(t is source for t in tokenizers):
        return ("the pool handed out the caller's own tokenizer: every tokenizer in it must "
                "be a copy, since the caller may still use the original")
    if outcome.hung:
        return "a checkout from an empty pool did not return within 5 s"
    if outcome.ok and outcome.value is None:
        return "a checkout from an empty pool gave None instead of raising TimeoutError"
    if outcome.ok:
        return "a checkout from an empty pool returned a tokenizer instead of raising"
    if not isinstance(outcome.error, TimeoutError):
        return (f"a checkout from an empty pool raised {type(outcome.error).__name__} "
                "instead of TimeoutError")
    shared = handed_out_twice(pool)
    if shared is not None:
        return shared
    with contextlib.suppress(KeyError), pool.checkout(timeout_s=1.0):
        raise KeyError("the request failed")
    again = [pool.checkout(timeout_s=0.2) for _ in range(size)]
    taken, lent = [], []
    try:
        for manager in again:
            lent.append(manager.__enter__())
            taken.append(manager)
        # Every tokenizer has been out and back by now: the pool must still hold `size`
        # different ones and no more (one checked back in twice would be lent to two holders).
        extra = None if len({id(t) for t in lent}) < size else bounded(
            one_more, 5.0, name="tt-ex-checkout-again")
    except TimeoutError:
        return "a tokenizer was not checked back in when the request using it raised"
    finally:
        for manager in taken:
            manager.__exit__(None, None, None)
    if extra is None or extra.ok:
        return (f"after use, {size} checkouts held at once got {len({id(t) for t in lent})} "
                f"tokenizer(s) between them{'' if extra is None else ' and one more'}: "
                "a tokenizer checked back in twice is lent to two holders")
    return None


def handed_out_twice(pool: Any) -> str | None:
    """Hold A, take B, return B, take C: C must not be A's tokenizer (a pool that picks a copy
    round-robin instead of from the free ones fails here by construction)."""
    first = pool.checkout(timeout_s=1.0)
    a = first.__enter__()
    try:
        with pool.checkout(timeout_s=1.0):
            pass
        with pool.checkout(timeout_s=1.0) as c:
            if c is a:
                return ("a tokenizer still checked out was handed out again: hand out only "
                        "tokenizers that were checked back in")
    finally:
        first.__exit__(None, None, None)
    return None

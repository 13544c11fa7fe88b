"""Progress bars for the loops and hammers a reader waits on, and the switch that hides them."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["NO_PROGRESS_ENV", "progress", "progress_bar"]

Item = TypeVar("Item")

#: Set (to anything) to turn progress bars off: the tests and `make notebooks` do, so that
#: stored notebook outputs hold results, not the remains of a progress bar.
NO_PROGRESS_ENV = "DEMOS_NO_PROGRESS"


def progress(iterable: Iterable[Item], *, desc: str, total: int | None = None) -> Iterable[Item]:
    """Show a ``tqdm.auto`` progress bar over a loop a reader waits on for seconds.

    In Jupyter it is a widget, in a terminal a text bar; it disappears when the loop ends.
    With ``DEMOS_NO_PROGRESS`` set it returns ``iterable`` unchanged.
    """
    bar = progress_bar(total if total is not None else _length(iterable), desc)
    if bar is None:
        return iterable
    return _advancing(iterable, bar)


def _advancing(iterable: Iterable[Item], bar: Any) -> Iterator[Item]:
    try:
        for item in iterable:
            yield item
            bar.update(1)
    finally:
        bar.close()


def _length(iterable: Iterable[Any]) -> int | None:
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


def progress_bar(total: int | None, desc: str) -> Any:
    """A closable tqdm bar, or None when progress bars are turned off."""
    if os.environ.get(NO_PROGRESS_ENV):
        return None
    from tqdm.auto import tqdm

    tqdm.monitor_interval = 0  # no monitor thread left behind after the bar closes
    return tqdm(total=total, desc=desc, leave=False)

"""The probe's checks: one module each, and the Context they share.

Every check is a module with ``NAME`` and ``async def run(ctx) -> list[Finding]``; it raises
:class:`Skip` when it cannot apply (no ``--reference``, an API without a truncation option).
A check bounds its own requests (count, concurrency, each request's timeout) and stops
early when the run's budget is spent (:meth:`Context.remaining`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from demos.probe.client import Client, Cut, Outcome
from demos.probe.process import Started
from demos.probe.report import Finding
from demos.probe.texts import TEXTS, same

__all__ = ["PITFALLS", "Context", "Skip", "finding"]

#: The book's chapters, by number: the pitfall a finding names.
PITFALLS = {
    1: "Silent precision loss",
    2: "Publishing a model before it is ready",
    3: "Micro-batching that deadlocks",
    4: "Mutable state inside the model",
    5: "The model's input contract",
    6: "One tokenizer, many threads",
}


class Skip(Exception):
    """A check that does not apply to this service; the message says why."""


def finding(check: str, chapter: int, summary: str, evidence: list[str] | tuple[str, ...],
            fix: str) -> Finding:
    """A Finding naming the chapter's pitfall; at most 6 lines of evidence."""
    return Finding(check, PITFALLS[chapter], chapter, summary, tuple(evidence[:6]), fix)


@dataclass
class Context:
    """What the checks share: the client, the budget, and what discovery learnt.

    ``alone`` holds each of :data:`TEXTS` embedded on its own, one request at a time: the
    answer every concurrent, loaded or post-failure request is compared with.
    """

    client: Client
    deadline: float
    progress: Callable[[str], None]
    min_cosine: float = 0.9999
    ready_path: str | None = None
    truncate_option: bool = False
    alone: list[npt.NDArray[np.float32]] = field(default_factory=list)
    reference: list[npt.NDArray[np.float32]] | None = None
    max_tokens: int | None = None
    started: Started | None = None
    startup: list[str] = field(default_factory=list)
    clients: int = 64
    #: False once precision saw inf/NaN/zero/collapsed vectors: comparisons mean nothing then.
    comparable: bool = True
    #: True once the concurrency check saw wrong answers: overload does not report them again.
    wrong_answers_seen: bool = False
    #: The failed request that shows the service stopped serving, set by the check that saw it.
    broken: Outcome | None = None
    notes: list[str] = field(default_factory=list)
    #: Why requests are carried inside bursts (set by batching.discover), as evidence.
    carry_evidence: list[str] = field(default_factory=list)
    #: True once readiness was reported (at start-up): the checks do not report it again.
    readiness_reported: bool = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def bound(self, seconds: float) -> float:
        """``seconds``, or what is left of the budget if that is less (at least 0.5 s); a
        lowered timeout is a :class:`Cut`, so that its firing is not taken for a hang."""
        left = self.remaining() - 1.0
        return seconds if left >= seconds else Cut(max(0.5, left))

    async def ready_status(self) -> Outcome | None:
        if self.ready_path is None:
            return None
        return await self.client.send("GET", self.ready_path, timeout_s=self.bound(5.0))

    async def answer_alone(self, text: str, truncate: bool | None = None,
                           direction: str | None = None) -> Outcome:
        """``text`` in a request of its own; in carry mode, until two answers agree (at most
        three): a batch run while the one before is still being answered may hand back
        another row (chapter 4), and a companion still in the service may set its option
        on a shared tokenizer (chapter 6)."""
        outcome = await self.client.embed([text], truncate, direction, self.bound(15.0))
        for _ in range(2 if self.client.burst else 0):
            again = await self.client.embed([text], truncate, direction, self.bound(15.0))
            if not (outcome.ok and again.ok):
                return again if outcome.ok else outcome
            if same(again.vectors[0], outcome.vectors[0], 1 - 1e-6):  # type: ignore[index]
                return again
            outcome = again
        return outcome

    async def serving(self, tries: int = 4) -> Outcome:
        """One valid request, retried while the service says 429/503: does it still serve?"""
        outcome = await self.client.embed([TEXTS[0]], timeout_s=self.bound(10.0))
        for _ in range(tries - 1):
            if outcome.status not in (429, 503):
                break
            await asyncio.sleep(0.5)
            outcome = await self.client.embed([TEXTS[0]], timeout_s=self.bound(10.0))
        if outcome.ok and self.alone and self.comparable and \
                not _close(outcome, self.alone[0], self.min_cosine):
            outcome.ended = "wrong"
        return outcome


def _close(outcome: Outcome, expected: npt.NDArray[np.float32], min_cosine: float) -> bool:
    return outcome.vectors is not None and same(outcome.vectors[0], expected, min_cosine)

"""An async HTTP load generator for the services: bounded in requests and time, loopback only.

``run(url, bodies, clients=8, requests=200)`` sends ``requests`` POSTs to ``url``'s
``/v1/embeddings`` from ``clients`` concurrent clients (each its own connection), cycling
through ``bodies``, and returns every request's :class:`Outcome`. A request that gets no
answer within ``timeout_s`` is recorded with status 0, never waited on longer; no request
starts after ``budget_s``. Only 127.0.0.1, ``localhost`` and ``::1`` are accepted: this is a
teaching tool, not a way to load someone else's server.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

__all__ = ["LoadResult", "Outcome", "generate", "run"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Outcome:
    """One request: its HTTP status (0: no response), its latency, and the error if any."""

    status: int
    seconds: float
    error: str = ""


@dataclass(frozen=True)
class LoadResult:
    """Every request's outcome, in the order they finished, and the run's wall time."""

    outcomes: list[Outcome]
    wall_s: float

    def statuses(self) -> Counter[int]:
        return Counter(o.status for o in self.outcomes)

    def latency(self, percentile: float) -> float:
        """The given percentile (0–100) of the answered (2xx) requests' latency, in seconds."""
        ok = [o.seconds for o in self.outcomes if 200 <= o.status < 300]
        return float(np.percentile(ok, percentile)) if ok else float("nan")

    def throughput(self) -> float:
        """Answered (2xx) requests per second of wall time."""
        ok = sum(200 <= o.status < 300 for o in self.outcomes)
        return ok / self.wall_s if self.wall_s > 0 else 0.0


def _check(url: str, bodies: Sequence[Any], clients: int, requests: int, timeout_s: float,
           budget_s: float) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"url must be on this machine (one of {LOOPBACK}), got host {host!r}")
    if not bodies:
        raise ValueError("bodies must hold at least one request body, got none")
    for name, value in (("clients", clients), ("requests", requests)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    for name, seconds in (("timeout_s", timeout_s), ("budget_s", budget_s)):
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not 0 < seconds < float("inf"):
            raise ValueError(f"{name} must be a finite number > 0, got {seconds!r}")


async def generate(url: str, bodies: Sequence[Any], *, clients: int = 8, requests: int = 200,
                   timeout_s: float = 30.0, budget_s: float = 120.0) -> LoadResult:
    """The load, on the running event loop (see the module docstring)."""
    _check(url, bodies, clients, requests, timeout_s, budget_s)
    outcomes: list[Outcome] = []
    issued = 0
    start = time.perf_counter()

    async def client() -> None:
        nonlocal issued
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            while issued < requests and time.perf_counter() - start < budget_s:
                body = bodies[issued % len(bodies)]
                issued += 1
                sent = time.perf_counter()
                try:
                    response = await http.post(f"{url}/v1/embeddings", json=body)
                    outcomes.append(Outcome(response.status_code, time.perf_counter() - sent))
                except httpx.HTTPError as error:
                    outcomes.append(Outcome(0, time.perf_counter() - sent,
                                            f"{type(error).__name__}: {error}"))

    await asyncio.gather(*(client() for _ in range(clients)))
    return LoadResult(outcomes, time.perf_counter() - start)


def run(url: str, bodies: Sequence[Any], *, clients: int = 8, requests: int = 200,
        timeout_s: float = 30.0, budget_s: float = 120.0) -> LoadResult:
    """:func:`generate` from synchronous code (a test, the CLI); in a notebook, whose loop
    is already running, ``await generate(...)`` instead."""
    return asyncio.run(generate(url, bodies, clients=clients, requests=requests,
                                timeout_s=timeout_s, budget_s=budget_s))

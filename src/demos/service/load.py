"""An async HTTP load generator for the services: bounded in requests and time, loopback only.

``run(url, bodies, clients=8, requests=200)`` sends ``requests`` POSTs to ``url``'s
``/v1/embeddings`` from ``clients`` concurrent clients (each its own connection), cycling
through ``bodies``, and returns every request's :class:`Outcome`. A request that gets no
answer within ``timeout_s`` is recorded with status 0, never waited on longer; no request
starts after ``budget_s``. Only 127.0.0.1, ``localhost`` and ``::1`` are accepted: this is a
teaching tool, not a way to load someone else's server.

``disconnect``: the share of requests whose client hangs up mid-flight, as impatient
clients and proxies do: it sends the request on a connection of its own, waits a random
time below ``hang_up_s`` (seeded: the same run, the same waits) and closes the connection
without reading the answer. Those requests are spread evenly over the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

__all__ = ["LoadResult", "Outcome", "generate", "hang_up", "run"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Outcome:
    """One request: its HTTP status (0: no response), its latency, and the error if any.

    Attributes:
        index: the request's place in the run; its body was ``bodies[index % len(bodies)]``.
        answer: the response's JSON, when the run kept answers (else None).
        hung_up: the client closed the connection before any byte of the answer arrived.
    """

    status: int
    seconds: float
    error: str = ""
    index: int = -1
    answer: Any = None
    hung_up: bool = False


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
           budget_s: float, disconnect: float = 0.0, hang_up_s: float = 0.05) -> None:
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise ValueError(f"url must be on this machine (one of {LOOPBACK}), got host {host!r}")
    if not bodies:
        raise ValueError("bodies must hold at least one request body, got none")
    for name, value in (("clients", clients), ("requests", requests)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    for name, seconds in (("timeout_s", timeout_s), ("budget_s", budget_s),
                          ("hang_up_s", hang_up_s)):
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not 0 < seconds < float("inf"):
            raise ValueError(f"{name} must be a finite number > 0, got {seconds!r}")
    if isinstance(disconnect, bool) or not isinstance(disconnect, (int, float)) \
            or not 0 <= disconnect < 1:
        raise ValueError(f"disconnect must be a number in [0, 1), got {disconnect!r}")


def _answer(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # not JSON: keep the text, for the error message
        return response.text


async def hang_up(url: str, body: Any, after_s: float) -> bool:
    """POST ``body`` on a connection of its own, then close it after ``after_s`` unread.

    Returns True if the client hung up first (no byte of the answer had arrived), False
    if the answer began before ``after_s``. Either way the answer is never read.
    """
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    head = (f"POST /v1/embeddings HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n")
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(head.encode() + payload)
        await writer.drain()
        try:
            first = await asyncio.wait_for(reader.read(1), after_s)
        except TimeoutError:
            first = b""
        return not first
    finally:
        writer.close()
        with contextlib.suppress(OSError):  # a reset: the server saw the answer go unread
            await writer.wait_closed()


async def generate(url: str, bodies: Sequence[Any], *, clients: int = 8, requests: int = 200,
                   timeout_s: float = 30.0, budget_s: float = 120.0, disconnect: float = 0.0,
                   hang_up_s: float = 0.05, keep_answers: bool = False,
                   seed: int = 0) -> LoadResult:
    """The load, on the running event loop (see the module docstring)."""
    _check(url, bodies, clients, requests, timeout_s, budget_s, disconnect, hang_up_s)
    outcomes: list[Outcome] = []
    issued = 0
    waits = random.Random(seed)
    start = time.perf_counter()

    async def client() -> None:
        nonlocal issued
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            while issued < requests and time.perf_counter() - start < budget_s:
                index = issued
                body = bodies[index % len(bodies)]
                issued += 1
                sent = time.perf_counter()
                if int((index + 1) * disconnect) > int(index * disconnect):  # evenly spread
                    try:
                        first = await hang_up(url, body, waits.uniform(0, hang_up_s))
                        outcomes.append(Outcome(0, time.perf_counter() - sent, "" if first
                                                else "the answer began before the hang-up",
                                                index, hung_up=first))
                    except OSError as error:
                        outcomes.append(Outcome(0, time.perf_counter() - sent,
                                                f"{type(error).__name__}: {error}", index))
                    continue
                try:
                    response = await http.post(f"{url}/v1/embeddings", json=body)
                    answer = _answer(response) if keep_answers else None
                    outcomes.append(Outcome(response.status_code, time.perf_counter() - sent,
                                            index=index, answer=answer))
                except httpx.HTTPError as error:
                    outcomes.append(Outcome(0, time.perf_counter() - sent,
                                            f"{type(error).__name__}: {error}", index))

    await asyncio.gather(*(client() for _ in range(clients)))
    return LoadResult(outcomes, time.perf_counter() - start)


def run(url: str, bodies: Sequence[Any], *, clients: int = 8, requests: int = 200,
        timeout_s: float = 30.0, budget_s: float = 120.0, disconnect: float = 0.0,
        hang_up_s: float = 0.05, keep_answers: bool = False, seed: int = 0) -> LoadResult:
    """:func:`generate` from synchronous code (a test, the CLI); in a notebook, whose loop
    is already running, ``await generate(...)`` instead."""
    return asyncio.run(generate(url, bodies, clients=clients, requests=requests,
                                timeout_s=timeout_s, budget_s=budget_s, disconnect=disconnect,
                                hang_up_s=hang_up_s, keep_answers=keep_answers, seed=seed))

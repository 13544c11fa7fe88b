"""The probe's HTTP client: the one place that talks to the service, always with a timeout.

It speaks two dialects of "embed these texts": OpenAI's ``POST /v1/embeddings`` and
text-embeddings-inference's ``POST /embed``. Every call returns an :class:`Outcome`
(status, vectors, message, how it ended) instead of raising, so a check can tell a 4xx from
a 5xx, a hang (our timeout fired) and a dropped connection. It sends requests only to the
base URL it was given, never anywhere else.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt

from demos.probe.report import shorten

__all__ = ["APIS", "Client", "Cut", "Outcome", "declared_limit", "model_id"]

APIS = ("openai", "tei")
Vector = npt.NDArray[np.float32]
#: Carry mode (see :meth:`Client.send`): how long a request waits alone before companions
#: go out, the pause between two companions, and how long one round of them may last.
CARRY_GRACE_S = 0.3
CARRY_TICK_S = 0.05
CARRY_ROUND_S = 3.0
#: How long abandoned companions may still be in the service (reading, tokenizing) after
#: the request they carried was answered: see :meth:`Client.settle`.
CARRY_SETTLE_S = 0.5
COMPANION_TEXT = "A companion request that completes a batch."


class Cut(float):
    """A request timeout lowered to what is left of the run's budget (Context.bound): when
    it fires, the budget ran out, which says nothing about the service."""


@dataclass
class Outcome:
    """How one request ended.

    ``status`` is None when no response came: ``ended`` then says ``"timeout"`` (the probe's
    deadline fired: a hang), ``"dropped"`` (the connection closed without a response) or
    ``"refused"`` (nothing listens).
    """

    request: str
    status: int | None = None
    body: Any = None
    vectors: list[Vector] | None = None
    ended: str = "response"
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    #: True when the timeout that fired was a :class:`Cut` one: not a hang, the budget ran out.
    budget_out: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.vectors is not None

    @property
    def message(self) -> str:
        """The error message the service gave (OpenAI's ``error.message``, TEI's ``error``)."""
        body = self.body
        if isinstance(body, dict):
            error = body.get("error", body.get("detail", body.get("message")))
            if isinstance(error, dict):
                error = error.get("message")
            if error:
                return str(error)
        return body.strip() if isinstance(body, str) else ""

    def evidence(self) -> str:
        got = (f"HTTP {self.status} {shorten(self.body, 160)}" if self.status is not None
               else f"no response ({self.ended} after {self.seconds:.1f} s)")
        return f"{self.request} -> {got}"


class Client:
    """Embedding requests to one service, bounded in time.

    Args:
        url: the service's base URL, e.g. ``http://127.0.0.1:8000``.
        api: ``"openai"`` or ``"tei"``.
        model: the model id sent with OpenAI requests.
        timeout_s: the deadline of each request; past it the request counts as a hang.

    Concurrency: one instance per event loop; its methods may run concurrently as tasks.
    """

    def __init__(self, url: str, api: str, model: str = "", timeout_s: float = 10.0) -> None:
        if api not in APIS:
            raise ValueError(f"api must be one of {list(APIS)}, got {api!r}")
        self.url, self.api, self.model, self.timeout_s = url.rstrip("/"), api, model, timeout_s
        self.path = "/v1/embeddings" if api == "openai" else "/embed"
        #: Requests whose Cut timeout fired: the run's budget, not the service, ended them.
        self.budget_timeouts = 0
        #: Carry mode: 0 (off), or the burst of concurrent requests the service answered when a
        #: lone request got no answer (a batcher that waits for a full batch).
        self.burst = 0
        self.companions = 0  # companion requests sent in carry mode
        self._waiting = 0
        self._like: dict[str, Any] = {}
        #: Companions ask for truncation (where the API has the option): a companion that
        #: resets a shared tokenizer's truncation must not leak into a long request.
        self.truncating_companions = False
        self._pump: asyncio.Task[None] | None = None
        limits = httpx.Limits(max_connections=128, max_keepalive_connections=16)
        self._http = httpx.AsyncClient(base_url=self.url, limits=limits, follow_redirects=False,
                                       timeout=httpx.Timeout(timeout_s, connect=3.0))

    async def aclose(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        await self._http.aclose()

    def body(self, texts: list[str] | str, truncate: bool | None = None,
             direction: str | None = None) -> dict[str, Any]:
        """The JSON body that embeds ``texts`` in this API's dialect."""
        if self.api == "openai":
            body: dict[str, Any] = {"input": texts, "model": self.model,
                                    "encoding_format": "float"}
        else:
            body = {"inputs": texts}
        if truncate is not None:
            body["truncate"] = truncate
        if direction is not None:
            body["truncation_direction"] = direction if self.api == "openai" \
                else direction.capitalize()
        return body

    async def embed(self, texts: list[str] | str, truncate: bool | None = None,
                    direction: str | None = None, timeout_s: float | None = None) -> Outcome:
        """Embed ``texts``; the Outcome's ``vectors`` hold one float32 row per text on a 200."""
        body = self.body(texts, truncate, direction)
        outcome = await self.send("POST", self.path, json_body=body, timeout_s=timeout_s)
        if outcome.status == 200:
            outcome.vectors = self.vectors(outcome.body, 1 if isinstance(texts, str)
                                           else len(texts))
        return outcome

    def vectors(self, body: Any, count: int) -> list[Vector] | None:
        """The embeddings in input order, or None when the body is not this API's answer."""
        try:
            if self.api == "tei":
                rows = body
            else:
                items = sorted(body["data"], key=lambda item: item["index"])
                rows = [item["embedding"] for item in items]
            out = [np.frombuffer(base64.b64decode(row), dtype="<f4").astype(np.float32)
                   if isinstance(row, str) else np.asarray(row, dtype=np.float32)
                   for row in rows]
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        if len(out) != count or any(v.ndim != 1 or v.size == 0 for v in out):
            return None
        return out

    async def send(self, method: str, path: str, *, json_body: Any = None,
                   content: bytes | None = None, headers: dict[str, str] | None = None,
                   timeout_s: float | None = None) -> Outcome:
        """One request to ``path`` under the base URL; never raises for network trouble.

        In carry mode (``burst`` set) an embedding request that is not answered within
        CARRY_GRACE_S is carried inside a burst: valid companion requests, with the same
        truncation options, go out one at a time (at most ``burst`` a round) until it
        is answered; companions left unanswered at the end of a round are abandoned. The
        request keeps its own timeout, so a hang is still a hang.
        """
        if not self.burst or method != "POST" or path != self.path:
            return await self._send(method, path, json_body=json_body, content=content,
                                    headers=headers, timeout_s=timeout_s)
        self._like = _options(json_body if content is None else content)
        self._waiting += 1
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._carry())
        try:
            return await self._send(method, path, json_body=json_body, content=content,
                                    headers=headers, timeout_s=timeout_s)
        finally:
            self._waiting -= 1

    async def settle(self) -> None:
        """In carry mode, wait until companions of earlier requests are out of the service's
        request path: a request whose options matter must not meet them there."""
        if self.burst:
            await asyncio.sleep(CARRY_SETTLE_S)

    async def _carry(self) -> None:
        """Rounds of companions while any embedding request waits (carry mode)."""
        while self._waiting:
            await asyncio.sleep(CARRY_GRACE_S)
            round_end = time.monotonic() + CARRY_ROUND_S
            sent: list[asyncio.Task[Outcome]] = []
            try:
                while self._waiting and time.monotonic() < round_end:
                    if len(sent) < self.burst:
                        like = ({"truncate": True} if self.truncating_companions else {}) \
                            | self._like
                        sent.append(asyncio.create_task(self._send(
                            "POST", self.path, timeout_s=CARRY_ROUND_S, json_body=self.body(
                                [COMPANION_TEXT], like.get("truncate"),
                                like.get("truncation_direction")))))
                        self.companions += 1
                    await asyncio.sleep(CARRY_TICK_S)  # one at a time: never two batches at once
            finally:  # abandoned: they may complete a later batch, or wait in it
                for task in sent:
                    task.cancel()
                await asyncio.gather(*sent, return_exceptions=True)

    async def _send(self, method: str, path: str, *, json_body: Any = None,
                    content: bytes | None = None, headers: dict[str, str] | None = None,
                    timeout_s: float | None = None) -> Outcome:
        shown = shorten(json_body if content is None else content.decode("utf-8", "replace"),
                        120)
        outcome = Outcome(request=f"{method} {path} {shown}".rstrip())
        bound = timeout_s if timeout_s is not None else self.timeout_s
        start = time.monotonic()
        fresh = {**(headers or {}), "connection": "close"}
        try:
            async with asyncio.timeout(bound):
                for attempt in (headers, fresh):
                    try:
                        response = await self._http.request(
                            method, path, json=json_body if content is None else None,
                            content=content, headers=attempt,
                            timeout=httpx.Timeout(bound + 1.0, connect=min(3.0, bound)))
                        break
                    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                        # A kept-alive connection the server closed after its last answer
                        # (uvicorn does after a 500) fails at once: once more, on a new one.
                        if attempt is fresh:
                            raise
        except (TimeoutError, httpx.TimeoutException):
            outcome.ended = "timeout"
            if isinstance(bound, Cut):
                outcome.budget_out = True
                self.budget_timeouts += 1
        except httpx.ConnectError:
            outcome.ended = "refused"
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            outcome.ended = "dropped"
        else:
            outcome.status = response.status_code
            outcome.headers = dict(response.headers)
            try:
                outcome.body = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                outcome.body = response.text
        outcome.seconds = time.monotonic() - start
        return outcome


def _options(body: Any) -> dict[str, Any]:
    """A request's truncation options, when valid, for its companions to copy."""
    if isinstance(body, bytes):
        try:
            body = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            return {}
    if not isinstance(body, dict):
        return {}
    out: dict[str, Any] = {}
    if isinstance(body.get("truncate"), bool):
        out["truncate"] = body["truncate"]
    direction = body.get("truncation_direction")
    if isinstance(direction, str) and direction.lower() in ("right", "left"):
        out["truncation_direction"] = direction.lower()
    return out


def model_id(body: object) -> str | None:
    try:
        return str(body["data"][0]["id"])  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None


def declared_limit(body: object) -> int | None:
    """A token limit the service declares: TEI's /info, or a field in /v1/models."""
    entry = body
    if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
        entry = body["data"][0]
    if not isinstance(entry, dict):
        return None
    for key in ("max_input_length", "max_model_len", "context_length", "max_seq_length"):
        value = entry.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None

"""The embedding service as it should be: each chapter's fix, and what a service adds.

Same names and signatures as ``broken.py``; the lesson lines are marked ``# FIX:``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from demos.batching.fixed import MicroBatcher
from demos.service import api, engine, lifecycle
from demos.service.metrics import Metrics, add_common_routes
from demos.service.settings import Settings
from demos.tokenizer_threads.fixed import share

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The fixed service as an ASGI app; serve it with uvicorn (one app per process).

    Concurrency: the model loads in the lifespan, in the serving process; ``/readyz`` says
    503 until a warm-up inference succeeded. Requests are tokenized on the thread pool with
    their own options, and batched by chapter 3's fixed MicroBatcher, off the event loop.
    """
    settings = Settings() if settings is None else settings
    service = _Service(settings)
    app = FastAPI(title="embedding service (fixed)", lifespan=service.lifespan)
    add_common_routes(app, settings, service.metrics, service.readiness)

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> dict[str, Any]:
        # FIX: every field checked first: a 4xx naming the field, the expected, the received
        body = api.parse(await request.body(), settings)
        return await service.embed(body)

    return app


class _Service:
    """One served model: its state, readiness, admission, and drain on SIGTERM."""

    def __init__(self, settings: Settings) -> None:
        self.settings, self.metrics, self.tasks = settings, Metrics(), lifecycle.Tasks()
        self.encoder: Any = None  # set by _start, as is self.tokenizer
        self.batcher: MicroBatcher | None = None
        self.warm, self.draining, self.failed = False, False, ""
        self.admitted, self.seen = 0, 0.0  # texts admitted and not yet answered; last arrival

    def readiness(self) -> str:
        """"" when a request would be served now, else why not."""
        if self.draining:
            return "draining: the server is shutting down"
        if self.failed:
            return f"start-up failed: {self.failed}"
        if not self.warm or self.batcher is None:
            return "warming up: no warm-up inference has succeeded yet"
        if not self.batcher.statistics().running:  # a dead batcher is not ready
            return "the batcher has stopped"
        return ""

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        lifecycle.on_sigterm(self.tasks, self._drain)  # FIX: drain before the server stops
        async with AsyncExitStack() as stack:
            # FIX: load in the lifespan, in the background: /healthz answers meanwhile
            self.tasks.spawn(self._start(stack), "service-start")
            yield
            await self.tasks.cancel_all()

    async def _start(self, stack: AsyncExitStack) -> None:
        s = self.settings
        try:
            self.encoder = await run_in_threadpool(engine.load, s)  # FIX: here, after any fork
            self.tokenizer = share(self.encoder.tokenizer)  # FIX: configured once, then shared
            if s.warmup_gate:
                await run_in_threadpool(engine.wait_for_file, s.warmup_gate, s.gate_bound_s)
            self.batcher = await stack.enter_async_context(MicroBatcher(
                self._model, max_batch=s.max_batch, max_wait_s=s.max_wait_s,
                max_queue=s.max_queue, size_fn=len))
            await self.batcher.submit(self._rows(["warm-up"], False, "right", gate=False)[0])
            self.warm = True  # FIX: ready only after a real inference succeeded
        except Exception as error:
            self.failed = f"{type(error).__name__}: {error}"
            logging.getLogger("demos.service").exception("the service failed to start")

    async def _drain(self, previous: Any) -> None:
        self.draining = True  # FIX: /readyz says 503 first, and new requests are refused
        loop, quiet_s = asyncio.get_running_loop(), self.settings.drain_quiet_s
        # FIX: in-flight ones are answered; late clients get 503s until quiet_s without one
        await lifecycle.wait_until(lambda: not self.admitted and loop.time() - self.seen >= quiet_s,
                                   self.settings.drain_s)
        lifecycle.hand_back(previous)  # then the server exits, as if signalled now

    async def embed(self, body: api.EmbeddingRequest) -> dict[str, Any]:
        s, count, self.seen = self.settings, len(body.texts), asyncio.get_running_loop().time()
        reason = self.readiness()
        if reason:  # FIX: refused at once, never queued, while not ready or draining
            raise api.ApiError(503, f"not serving now: {reason}", code="not_ready",
                               retry_after_s=1)
        if self.admitted + count > s.max_queue:  # FIX: a bounded queue: 503, never a hang
            raise api.ApiError(503, f"queue full: {self.admitted} texts queued, max_queue="
                               f"{s.max_queue}; retry later", code="queue_full", retry_after_s=1)
        self.admitted += count
        self.metrics.queue_depth.set(self.admitted)
        try:
            return await asyncio.wait_for(self._answer(body), s.deadline_s)  # FIX: a deadline
        except TimeoutError:
            raise api.ApiError(504, f"deadline: not answered within deadline_s={s.deadline_s}",
                               code="deadline_exceeded") from None
        finally:
            self.admitted -= count
            self.metrics.queue_depth.set(self.admitted)

    async def _answer(self, body: api.EmbeddingRequest) -> dict[str, Any]:
        rows = await run_in_threadpool(self._rows, body.texts, body.truncate,
                                       body.truncation_direction)
        try:
            # FIX: the model runs on the batcher's thread, never on the event loop
            vectors = await asyncio.gather(*(self.batcher.submit(r) for r in rows))  # type: ignore[union-attr]
        except Exception as error:  # FIX: a failing batch fails its requests, naming the cause
            raise api.model_failed(error) from None
        return api.embeddings_body(vectors, engine.model_id(self.settings),
                                   body.encoding_format, sum(len(row) for row in rows))

    def _rows(self, texts: Sequence[str], truncate: bool, direction: str, *,
              gate: bool = True) -> list[list[int]]:
        """Token ids per text, this request's truncation applied to its own Encodings."""
        if gate:
            engine.hold(self.settings)
        limit = self.encoder.max_seq_length - self.tokenizer.num_special_tokens_to_add(False)
        rows = []
        for i, encoding in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            if len(encoding) > limit and not truncate:
                raise api.too_many_tokens(i, limit, len(encoding))
            encoding.truncate(limit, direction=direction)  # FIX: this request's own Encoding
            rows.append(self.tokenizer.post_process(encoding).ids)
        return rows

    def _model(self, rows: list[list[int]]) -> list[np.ndarray]:
        self.metrics.batch_size.observe(len(rows))
        return list(engine.run_ids(self.encoder, rows, self.settings.fault_text))

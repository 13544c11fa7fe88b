"""The embedding service as real services write it; every lesson line is marked ``# PITFALL:``.

Same names and signatures as ``fixed.py``. Each marker names its chapter and, where one
exists, the real project where readers met it. Do not deploy this file.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
from fastapi import Body, Depends, FastAPI

from demos.batching.broken import MicroBatcher
from demos.models import Encoder
from demos.service import api, engine
from demos.service.metrics import Metrics, add_common_routes
from demos.service.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The broken service as an ASGI app; serve it with uvicorn.

    Concurrency: none stated, and none provided.
    """
    settings = Settings() if settings is None else settings
    metrics = Metrics()
    # PITFALL: ch2: the model is built with the app, at import: with gunicorn --preload, in the
    # master, before fork (gunicorn#2478, pytorch#49555, gunicorn#3130)
    model = _Model(engine.load(settings), metrics, settings.fault_text)
    tokenizer = model.encoder.tokenizer  # PITFALL: ch6: one tokenizer, reconfigured per request
    # PITFALL: ch3: waits for a full batch, runs the model on the event loop, and its loop dies
    # on a cancelled future (ray#50046, ray#41199); the queue has no bound
    batcher = MicroBatcher(model, max_batch=settings.max_batch, max_queue=sys.maxsize)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with batcher:
            yield

    app = FastAPI(title="embedding service (broken)", lifespan=lifespan)
    # PITFALL: readiness is a constant: 200 whether or not a request would be served
    # (michaelfeil/infinity#609, kserve#799, MLServer#2056)
    add_common_routes(app, settings, metrics, lambda: "")
    metrics.queue_depth.set_function(lambda: float(batcher.statistics().queued))

    # PITFALL: ch6: a sync dependency: FastAPI runs it on its thread pool, many at once
    def tokenize(body: dict = Body()) -> tuple[dict, list[list[int]]]:  # noqa: B008
        if body.get("truncate"):  # PITFALL: ch6: this request's options, on the shared tokenizer
            direction = body.get("truncation_direction", "right")
            tokenizer.enable_truncation(model.encoder.max_seq_length, direction=direction)
        else:
            tokenizer.no_truncation()  # PITFALL: ch6: ...for every request in flight
        tokenizer.no_padding()
        engine.hold(settings)  # reading the rest of the body takes time
        texts = body["input"]  # PITFALL: ch5: validation left to tokenizers and onnxruntime
        texts = [texts] if isinstance(texts, str) else texts
        return body, [e.ids for e in tokenizer.encode_batch(texts)]

    @app.post("/v1/embeddings")
    async def embeddings(prepared: Any = Depends(tokenize)) -> dict[str, Any]:  # noqa: B008
        body, rows = prepared
        # PITFALL: ch3: an async endpoint whose batcher calls the model on the event loop
        vectors = await asyncio.gather(*(batcher.submit(row) for row in rows))
        return api.embeddings_body(vectors, str(body.get("model")),
                                   body.get("encoding_format", "float"), sum(map(len, rows)))

    return app


class _Model:
    """The model function the batcher calls, with a scratch buffer to save an allocation."""

    def __init__(self, encoder: Encoder, metrics: Metrics, fault: str) -> None:
        self.encoder, self.metrics, self.fault = encoder, metrics, fault
        self.scratch = np.empty((0, encoder.dim), dtype=np.float32)

    def __call__(self, rows: list[list[int]]) -> list[np.ndarray]:
        self.metrics.batch_size.observe(len(rows))
        out = engine.run_ids(self.encoder, rows, self.fault)
        if len(self.scratch) < len(out):
            self.scratch = np.empty_like(out)
        self.scratch[: len(out)] = out  # PITFALL: ch4: one buffer on the model, for every call
        return list(self.scratch[: len(out)])  # PITFALL: ch4: views the next batch overwrites

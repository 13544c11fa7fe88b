"""A small embedding service for the probe's tests: correct, or with ONE planted fault.

    python tests/probe_targets/target.py --port 8123 [--fault NAME]

The real all-MiniLM-L6-v2 encoder (one intra-op thread) behind FastAPI on uvicorn, speaking
OpenAI's ``POST /v1/embeddings`` and TEI's ``POST /embed``. A batching loop takes up to
``MAX_BATCH`` requests at a time and keeps up to ``WORKERS`` batches running in threads; it
collects each finished batch, so an exception there ends the loop (as a crashed batcher
does). Correct, it validates requests, tokenizes with tokenizers configured once per
truncation direction, fails only a failing batch, skips cancelled futures, bounds the
requests in flight (503), and says ready only after a warm-up inference while the loop
lives. Each ``--fault`` undoes exactly one of those (the lines marked ``PLANTED``);
``readiness_live`` shows only with another fault that stops the loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from tokenizers import Encoding, Tokenizer

from demos.models import load_encoder

FAULTS = ("readiness", "readiness_live", "bad_input", "precision", "truncation",
          "concurrency_state", "concurrency_options", "overload", "poison", "cancellation")
MODEL = "all-MiniLM-L6-v2"
MAX_BATCH, WORKERS, IN_FLIGHT, MAX_INPUTS, MAX_CHARS = 4, 2, 16, 64, 20_000


class Refused(Exception):
    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param = status, message, param


def _tokenizer(tokenizer_json: str, limit: int, direction: str) -> Tokenizer:
    tokenizer = Tokenizer.from_str(tokenizer_json)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=limit, direction=direction)
    return tokenizer


class Engine:
    """The model and its tokenizers, loaded once; ``run`` embeds one batch of encodings."""

    def __init__(self, fault: frozenset[str], limit: int) -> None:
        encoder = load_encoder(intra_op_threads=1)
        self.fault, self.session, self.limit = fault, encoder.session, limit
        self.tokenizers = {d: _tokenizer(encoder.tokenizer_json, limit, d)
                           for d in ("right", "left")}
        self.cutters = self.tokenizers  # truncate: true cuts with these
        if "truncation" in fault:  # PLANTED: cut at the tokenizer's own limit, half the
            # model's (as all-MiniLM-L6-v2's tokenizer.json says 128, its model card 256)
            self.cutters = {d: _tokenizer(encoder.tokenizer_json, limit // 2, d)
                            for d in ("right", "left")}
        self.shared = _tokenizer(encoder.tokenizer_json, limit, "right")
        self.scratch = np.zeros((MAX_BATCH * MAX_INPUTS, 384), dtype=np.float32)

    def tokenize(self, texts: list[str], truncate: bool, direction: str) -> list[Encoding]:
        if "concurrency_options" in self.fault:
            tokenizer = self.shared  # PLANTED: configured by the last request's endpoint
        else:
            tokenizer = (self.cutters if truncate else self.tokenizers)[direction]
        encodings = tokenizer.encode_batch(texts)  # raises on a lone surrogate
        if not truncate and any(e.overflowing for e in encodings):
            raise Refused(413, f"input: expected at most {self.limit} tokens per text, "
                          "received more; send truncate: true to cut it", "input")
        return encodings

    def run(self, encodings: list[Encoding]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)], mask[row, :len(e.ids)] = e.ids, e.attention_mask
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        vectors = self.session.run(["sentence_embedding"], feeds)[0]
        if "precision" in self.fault:  # PLANTED: "int8 storage", one fixed scale for all
            return (np.round(vectors * 127) / 127).astype(np.float32)
        return vectors


class Service:
    """The batching loop, the requests in flight, readiness."""

    def __init__(self, fault: frozenset[str], limit: int) -> None:
        self.fault, self.limit, self.engine, self.warm = fault, limit, None, False
        self.queue: asyncio.Queue[tuple[Any, asyncio.Future[Any]]] = asyncio.Queue()
        self.in_flight, self.loop_task = 0, None

    def load(self) -> None:
        engine = Engine(self.fault, self.limit)
        engine.run(engine.tokenize(["warm up"], True, "right"))
        self.engine, self.warm = engine, True

    def ready(self) -> bool:
        if "readiness" in self.fault:
            return True  # PLANTED: a constant
        if "readiness_live" in self.fault:
            return self.warm  # PLANTED: set once at start-up, blind to the batching loop
        return self.warm and self.loop_task is not None and not self.loop_task.done()

    async def loop(self) -> None:
        running: set[asyncio.Task[None]] = set()
        while True:
            batch = [await self.queue.get()]
            await asyncio.sleep(0.005)
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            running.add(asyncio.create_task(self.serve(batch)))
            if len(running) >= WORKERS:
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in [t for t in running if t.done()]:
                running.discard(task)
                task.result()  # an exception escaping serve() ends the loop

    async def serve(self, batch: list[tuple[Any, asyncio.Future[Any]]]) -> None:
        if "poison" in self.fault:  # PLANTED: no try/except around the batch
            results: Any = await asyncio.to_thread(self.compute, batch)
        else:
            try:
                results = await asyncio.to_thread(self.compute, batch)
            except Exception as error:
                results = [Refused(500, f"the model failed on this batch: {error!r}")] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if "cancellation" in self.fault or not future.done():  # PLANTED: no done() check
                future.set_result(result)

    def compute(self, batch: list[tuple[Any, asyncio.Future[Any]]]) -> list[Any]:
        """One model call per request of the batch (their options differ), rows in order."""
        rows = sum(len(texts) for (texts, _, _), _ in batch)
        out = np.empty((rows, 384), dtype=np.float32)
        if "concurrency_state" in self.fault:  # PLANTED: a scratch buffer on the model,
            out = self.engine.scratch  # shared by the batches the workers run at once
        spans: list[Any] = []
        row = 0
        for (texts, truncate, direction), _ in batch:
            try:
                encodings = self.engine.tokenize(texts, truncate, direction)
            except Refused as refused:
                spans.append(refused)
                continue
            out[row:row + len(texts)] = self.engine.run(encodings)
            spans.append((row, row + len(texts)))
            row += len(texts)
        return [s if isinstance(s, Refused) else out[s[0]:s[1]].copy() for s in spans]


def parse(raw: bytes, field: str, fault: frozenset[str]) -> tuple[list[str], bool, str]:
    if "bad_input" in fault:  # PLANTED: sizes checked, the rest left to whatever breaks
        if len(raw) > MAX_INPUTS * MAX_CHARS:
            raise Refused(413, f"body: expected at most {MAX_INPUTS * MAX_CHARS} bytes")
        body = json.loads(raw)
        texts = body[field]
        texts = [texts] if isinstance(texts, str) else texts
        if len(texts) > MAX_INPUTS or any(len(t) > MAX_CHARS for t in texts):
            raise Refused(413, f"{field}: expected at most {MAX_INPUTS} texts of at most "
                          f"{MAX_CHARS} characters", field)
        return texts, body.get("truncate", False), body.get("truncation_direction", "right").lower()
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise Refused(400, "body: expected a UTF-8 JSON object, received invalid "
                      f"({type(error).__name__})", "body") from None
    if not isinstance(body, dict):
        raise Refused(400, f"body: expected a JSON object, received {type(body).__name__}")
    if field not in body:
        raise Refused(400, f"{field}: expected a string or a list of strings, received nothing",
                      field)
    texts = body[field]
    texts = [texts] if isinstance(texts, str) else texts
    if not isinstance(texts, list) or not texts or len(texts) > MAX_INPUTS or not all(
            isinstance(t, str) and t.strip() and len(t) <= MAX_CHARS for t in texts):
        raise Refused(400 if not isinstance(texts, list) or len(texts) <= MAX_INPUTS else 413,
                      f"{field}: expected 1 to {MAX_INPUTS} non-empty strings of at most "
                      f"{MAX_CHARS} characters, received {json.dumps(body[field])[:60]}", field)
    if field == "input" and body.get("model") != MODEL:
        raise Refused(404, f"model: expected {MODEL!r}, received {body.get('model')!r}", "model")
    if body.get("encoding_format", "float") != "float":
        raise Refused(400, "encoding_format: expected 'float', received "
                      f"{body.get('encoding_format')!r}", "encoding_format")
    truncate, direction = body.get("truncate", False), body.get("truncation_direction", "right")
    if not isinstance(truncate, bool):
        raise Refused(400, f"truncate: expected true or false, received {truncate!r}", "truncate")
    if not isinstance(direction, str) or direction.lower() not in ("right", "left"):
        raise Refused(400, "truncation_direction: expected 'right' or 'left', received "
                      f"{direction!r}", "truncation_direction")
    return texts, truncate, direction.lower()


def build_app(fault: frozenset[str], limit: int = 256) -> FastAPI:
    service = Service(fault, limit)

    async def lifespan(app: FastAPI):
        service.loop_task = asyncio.create_task(service.loop())
        threading.Thread(target=service.load, daemon=True, name="model-loader").start()
        yield
        service.loop_task.cancel()

    app = FastAPI(lifespan=lifespan)

    def error(refused: Refused) -> JSONResponse:
        return JSONResponse({"error": {"message": refused.message, "type": "invalid_request_error",
                                       "param": refused.param, "code": None}},
                            status_code=refused.status,
                            headers={"Retry-After": "1"} if refused.status == 503 else None)

    async def embed(request: Request, field: str) -> Any:
        try:
            texts, truncate, direction = parse(await request.body(), field, fault)
            if service.engine is None:
                raise Refused(503, "the model is loading")
            if "concurrency_options" in fault:  # PLANTED: this request's option, on the
                # one tokenizer every request shares, until the batch is tokenized
                service.engine.shared.enable_truncation(max_length=service.limit,
                                                        direction=direction)
            if service.in_flight >= IN_FLIGHT:
                if "overload" in fault:
                    raise RuntimeError("queue full")  # PLANTED: escapes as a 500
                raise Refused(503, f"busy: {IN_FLIGHT} requests in flight; retry")
        except Refused as refused:
            return error(refused)
        future = asyncio.get_running_loop().create_future()
        service.in_flight += 1
        try:
            await service.queue.put(((texts, truncate, direction), future))
            while not (await asyncio.wait({future}, timeout=0.05))[0]:
                if await request.is_disconnected():
                    future.cancel()
                    return Response(status_code=499)
        finally:
            service.in_flight -= 1
        result = future.result()
        if isinstance(result, Refused):
            return error(result)
        return result

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> Any:
        result = await embed(request, "input")
        if isinstance(result, Response):
            return result
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()}
                for i, v in enumerate(result)]
        return {"object": "list", "data": data, "model": MODEL,
                "usage": {"prompt_tokens": 0, "total_tokens": 0}}

    @app.post("/embed")
    async def tei_embed(request: Request) -> Any:
        result = await embed(request, "inputs")
        return result if isinstance(result, Response) else [v.tolist() for v in result]

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0,
                                            "owned_by": "tests", "max_input_length": limit}]}

    @app.get("/readyz")
    async def readyz() -> Response:
        ready = service.ready()
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fault", choices=FAULTS, action="append", default=[],
                        help="plant this fault (repeat to plant several)")
    parser.add_argument("--max-seq-length", type=int, default=256,
                        help="tokens per text (the model takes up to 512; tests use 64)")
    args = parser.parse_args()
    uvicorn.run(build_app(frozenset(args.fault), args.max_seq_length), host="127.0.0.1",
                port=args.port, log_level="warning")

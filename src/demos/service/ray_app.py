"""Chapter 7 scaled out: the fixed embedding service as a Ray Serve deployment.

The same OpenAI-compatible ``POST /v1/embeddings`` and ``GET /v1/models`` as ``fixed.py``
(api.py's checks, response shapes and errors), served by Ray Serve's FastAPI ingress in
``num_replicas`` replicas. Each replica loads the model in its ``__init__`` (in the replica's
own process, never before a fork), with one onnxruntime thread, and batches with Ray's own
``@serve.batch``: the engine whose batcher had chapter 3's bugs (ray#41199, ray#50046).
Ray's ``check_health`` runs a real inference, so a replica whose model cannot serve is
replaced instead of answering 200s while ``/v1/embeddings`` is dead.

:func:`serving_on_ray` starts a local Ray cluster on loopback, deploys, yields the base URL,
and shuts everything down with bounded waits, leaving no process behind.

Ray is an extra (``pip install ".[ray]"``); nothing else in the book imports this module.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import ray
from fastapi import FastAPI, Request
from ray import serve
from starlette.concurrency import run_in_threadpool

from demos.service import api, engine
from demos.service.ray_loopback import environment, loopback_node, replica_server_on_loopback
from demos.service.settings import Settings
from demos.tokenizer_threads.fixed import share

__all__ = ["APP_NAME", "Embedder", "application", "serving_on_ray"]

#: The Serve application's name (one per cluster here), and the deployment's.
APP_NAME = "embeddings"

app = FastAPI(title="embedding service (Ray Serve)")
_RAY_ENV = str(Path(__file__).with_name("_ray_env"))


@app.exception_handler(api.ApiError)
async def _refused(request: Any, error: api.ApiError) -> Any:
    return api.error_response(error)  # OpenAI's error shape, the field named


@serve.deployment(name="Embedder")
@serve.ingress(app)
class Embedder:
    """One replica: its own model, tokenizer and Ray batcher.

    Concurrency: the replica's event loop receives requests; tokenizing runs on the thread
    pool with the request's own truncation; the model runs off the loop, one batch at a time.
    """

    def __init__(self, settings: dict[str, Any]) -> None:
        replica_server_on_loopback()  # before Serve starts this replica's gRPC server
        self.settings = Settings(**settings)
        self.encoder = engine.load(self.settings)  # here, in the replica's own process
        self.tokenizer = share(self.encoder.tokenizer)
        self.model = engine.model_id(self.settings)
        self.batch_sizes: list[int] = []
        self.cancelled = 0  # requests whose client went away mid-flight (Ray cancelled them)
        self.pending = 0  # rows handed to Ray's batcher and not yet answered
        self._embed.set_max_batch_size(self.settings.max_batch)  # type: ignore[attr-defined]
        self._embed.set_batch_wait_timeout_s(self.settings.max_wait_s)  # type: ignore[attr-defined]
        engine.run_ids(self.encoder, self._rows(["warm-up"], False, "right"))  # fails here

    async def check_health(self) -> None:
        """Ray's health check: a real inference of one short row, or an exception."""
        row = self._rows(["health"], False, "right")
        vector = await asyncio.wait_for(asyncio.to_thread(engine.run_ids, self.encoder, row),
                                        self.settings.deadline_s)
        if not np.all(np.isfinite(vector)):
            raise RuntimeError("the model answered non-finite values")
        if not await self._embed._is_batching_task_alive():  # type: ignore[attr-defined]
            # ray#66140: a dead batching loop while the application says RUNNING
            raise RuntimeError("Ray's batching loop has stopped")

    async def stats(self) -> dict[str, Any]:
        """What this replica saw (through a deployment handle): batch sizes, cancellations,
        rows in Ray's batcher, batches waiting at the request gate, the batching loop."""
        return {"pid": os.getpid(), "batch_sizes": list(self.batch_sizes),
                "cancelled": self.cancelled, "pending": self.pending, "held": engine.held(),
                "batching_alive": await self._embed._is_batching_task_alive()}  # type: ignore[attr-defined]

    @app.get("/v1/models")
    async def models(self) -> dict[str, Any]:
        return api.models_body(self.model)

    @app.get("/healthz")
    async def healthz(self) -> dict[str, str]:
        return {"status": "alive"}

    @app.post("/v1/embeddings")
    async def embeddings(self, request: Request) -> dict[str, Any]:
        body = api.parse(await request.body(), self.settings)  # a 4xx naming the field
        try:
            return await asyncio.wait_for(self._answer(body), self.settings.deadline_s)
        except TimeoutError:
            raise api.ApiError(504, "deadline: not answered within deadline_s="
                               f"{self.settings.deadline_s}", code="deadline_exceeded") from None
        except asyncio.CancelledError:
            self.cancelled += 1  # the client disconnected: Serve's proxy cancelled us
            raise

    async def _answer(self, body: api.EmbeddingRequest) -> dict[str, Any]:
        rows = await run_in_threadpool(self._rows, body.texts, body.truncate,
                                       body.truncation_direction)
        vectors = await asyncio.gather(*(self._one(row) for row in rows))
        return api.embeddings_body(vectors, self.model, body.encoding_format,
                                   sum(len(row) for row in rows))

    async def _one(self, row: list[int]) -> np.ndarray:
        self.pending += 1  # the await below puts the row in Ray's queue before it suspends
        try:
            return await self._embed(row)
        finally:
            self.pending -= 1

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.005)  # set from Settings above
    async def _embed(self, rows: list[list[int]]) -> list[np.ndarray]:
        """Ray's batcher calls this with up to ``max_batch`` rows, one result per row."""
        self.batch_sizes.append(len(rows))
        return list(await asyncio.to_thread(self._model, rows))

    def _model(self, rows: list[list[int]]) -> np.ndarray:
        engine.hold(self.settings)  # the request gate (tests hold a batch here)
        return engine.run_ids(self.encoder, rows)

    def _rows(self, texts: list[str], truncate: bool, direction: str) -> list[list[int]]:
        """Token ids per text, this request's truncation applied to its own Encodings."""
        limit = self.encoder.max_seq_length - self.tokenizer.num_special_tokens_to_add(False)
        rows = []
        for i, encoding in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            if len(encoding) > limit and not truncate:
                raise api.ApiError(413, f"input[{i}]: expected at most {limit} tokens (or "
                                   f"\"truncate\": true), received {len(encoding)} tokens",
                                   param=f"input[{i}]", code="input_too_long")
            encoding.truncate(limit, direction=direction)
            rows.append(self.tokenizer.post_process(encoding).ids)
        return rows


def application(settings: Settings | None = None, *, replicas: int = 1) -> Any:
    """The bound Serve application: ``replicas`` replicas of :class:`Embedder`.

    ``max_ongoing_requests`` lets a replica hold enough requests to fill its batches; past
    ``max_queue`` waiting requests, Ray's router refuses with a 503.
    """
    settings = Settings() if settings is None else settings
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise ValueError(f"replicas must be an int >= 1, got {replicas!r}")
    return Embedder.options(  # type: ignore[attr-defined]
        num_replicas=replicas,
        max_ongoing_requests=max(4 * settings.max_batch, 64),
        max_queued_requests=settings.max_queue,
        health_check_period_s=2.0, health_check_timeout_s=settings.deadline_s,
        ray_actor_options={"num_cpus": 0.5},
    ).bind(asdict(settings))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _descendants() -> dict[int, psutil.Process]:
    return {p.pid: p for p in psutil.Process().children(recursive=True)}


def _stop_all(processes: list[psutil.Process], bound_s: float) -> list[str]:
    """Wait for ``processes`` to exit, at most ``bound_s``; kill the rest; their names."""
    _, alive = psutil.wait_procs(processes, timeout=bound_s)
    left = []
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            left.append(f"{process.pid} {process.name()}")
            process.kill()
    psutil.wait_procs(alive, timeout=bound_s)
    return left


def _wait_running(bound_s: float) -> None:
    deadline = time.monotonic() + bound_s
    while True:
        status = serve.status().applications.get(APP_NAME)
        state = "" if status is None else str(status.status)
        if state.endswith("RUNNING"):
            return
        if state.endswith("DEPLOY_FAILED"):
            raise RuntimeError(f"the Ray Serve application failed to deploy: {status.message}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the Ray Serve application was not RUNNING within {bound_s} s "
                               f"(status {state or 'absent'})")
        time.sleep(0.1)


def _start_ray(num_cpus: int, attempts: int, bound_s: float) -> None:
    """``ray.init`` on this machine only, retried (``attempts`` in all) when Ray's own fixed
    start-up windows run out: the raylet waits 15 s for its dashboard agent to write its
    port file, and ``ray.init`` 30 s for the raylet, which a loaded host can exceed."""
    for attempt in range(1, attempts + 1):
        before = set(_descendants())
        # Ray's processes inherit this PYTHONPATH: see demos.service._ray_env for why
        path = os.pathsep.join(filter(None, [_RAY_ENV, os.environ.get("PYTHONPATH")]))
        try:
            with loopback_node(), environment(PYTHONPATH=path):
                ray.init(num_cpus=num_cpus, include_dashboard=False, address="local",
                         log_to_driver=False, configure_logging=False,
                         runtime_env={"env_vars": {"OMP_NUM_THREADS": "1",
                                                   "TOKENIZERS_PARALLELISM": "false"}})
            if (node := ray.util.get_node_ip_address()) != "127.0.0.1":  # see loopback_node
                raise RuntimeError(f"Ray's node address: expected 127.0.0.1, got {node!r}")
            return
        except Exception as error:
            with contextlib.suppress(Exception):
                ray.shutdown()
            _stop_all([p for pid, p in _descendants().items() if pid not in before], bound_s)
            if attempt == attempts or "timed out during startup" not in str(error):
                raise
            logging.getLogger("demos.service").warning(
                "ray.init attempt %d of %d: %s; retrying", attempt, attempts, error)


@contextlib.contextmanager
def serving_on_ray(settings: Settings | None = None, *, replicas: int = 1, num_cpus: int = 2,
                   start_s: float = 120.0, stop_s: float = 30.0,
                   init_attempts: int = 2) -> Iterator[str]:
    """A local Ray cluster serving :func:`application` on 127.0.0.1; yields the base URL.

    Every server of the cluster listens on 127.0.0.1 only: Serve's HTTP proxy (on a free
    port), GCS, raylet, agents, workers, replicas (see :mod:`demos.service.ray_loopback`).
    On exit: ``serve.shutdown``, ``ray.shutdown``, then every process Ray started (GCS,
    raylet, workers, agents) gets ``stop_s`` to exit before it is killed; any that had to
    be killed is reported as a RuntimeError, because it is a leak.

    Raises:
        TimeoutError: if the application is not RUNNING within ``start_s``.
        RuntimeError: if it failed to deploy, or Ray left processes behind.
    """
    if ray.is_initialized():
        raise RuntimeError("Ray is already initialized in this process; shut it down first")
    before = set(_descendants())
    port = _free_port()
    _start_ray(num_cpus, init_attempts, stop_s)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve._run(application(settings, replicas=replicas), name=APP_NAME, route_prefix="/",
                   _blocking=False)  # waited for below, with a bound
        _wait_running(start_s)
        yield f"http://127.0.0.1:{port}"
    finally:
        ours = [p for pid, p in _descendants().items() if pid not in before]
        try:
            with contextlib.suppress(Exception):  # bounded by Ray itself
                serve.shutdown()
        finally:
            ray.shutdown()
            left = _stop_all(ours, stop_s)
    if left:  # only when nothing else went wrong: that error matters more, and is raised
        raise RuntimeError(f"Ray left processes running after shutdown (killed): {left}")

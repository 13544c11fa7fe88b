"""``/metrics`` in Prometheus' text format, and the routes both services share.

Each app gets its own ``CollectorRegistry``, so two apps in one process (a test, a notebook)
never mix their counts. The middleware is plain ASGI: it sees every response's status,
and counts a request that raised as a 500, which is what the client gets.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from demos.service import api, engine
from demos.service.settings import Settings

__all__ = ["Metrics", "add_common_routes"]

#: The paths counted under their own label; anything else is counted as "other".
PATHS = ("/v1/embeddings", "/v1/models", "/healthz", "/readyz", "/metrics")


class Metrics:
    """The service's Prometheus metrics.

    Attributes:
        requests: ``embedding_service_requests_total{path, status}``.
        latency: ``embedding_service_request_seconds{path}``, a histogram.
        batch_size: ``embedding_service_batch_size``, texts per model call.
        queue_depth: ``embedding_service_queue_depth``, texts admitted and not yet answered.
        held: ``embedding_service_requests_held``, requests at the request gate.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("embedding_service_requests", "HTTP requests by path and status",
                                ["path", "status"], registry=self.registry)
        self.latency = Histogram("embedding_service_request_seconds", "HTTP request latency",
                                 ["path"], registry=self.registry,
                                 buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
        self.batch_size = Histogram("embedding_service_batch_size", "texts per model call",
                                    registry=self.registry,
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
        self.queue_depth = Gauge("embedding_service_queue_depth",
                                 "texts admitted and not yet answered", registry=self.registry)
        self.held = Gauge("embedding_service_requests_held", "requests held at the request gate",
                          registry=self.registry)
        self.held.set_function(lambda: float(engine.held()))

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _Middleware:
    """Counts every HTTP response by path and status, and times it."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in PATHS else "other"
        status = 500
        start = time.perf_counter()

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.requests.labels(path, str(status)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - start)


def add_common_routes(app: FastAPI, settings: Settings, metrics: Metrics,
                      readiness: Callable[[], str]) -> None:
    """``/healthz``, ``/readyz``, ``/metrics``, ``/v1/models`` and the metrics middleware.

    ``readiness()`` returns "" when a request would be served now, else the reason it would
    not: ``/readyz`` answers 200, or 503 with that reason.
    """
    app.add_middleware(_Middleware, metrics=metrics)
    model = engine.model_id(settings)

    # Both name the worker process that answered: under gunicorn each worker answers for itself.
    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "alive", "worker": os.getpid()}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        reason = readiness()
        if reason:
            return JSONResponse({"status": "not ready", "reason": reason, "worker": os.getpid()},
                                status_code=503)
        return JSONResponse({"status": "ready", "worker": os.getpid()})

    @app.get("/metrics")
    async def prometheus() -> Response:
        return metrics.render()

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return api.models_body(model)

    @app.exception_handler(api.ApiError)
    async def refused(request: Any, error: api.ApiError) -> JSONResponse:
        return api.error_response(error)

"""In production: the six pitfalls in a real HTTP embedding service.

Chapters 1 to 6 stop at the function boundary; readers meet the pitfalls in running
services. This package serves the running example over HTTP twice, with FastAPI on uvicorn
(gunicorn with uvicorn workers for more than one process): ``broken.create_app`` is the code
real services contain (readiness that is a constant, the model built before fork, the model
on the event loop, a batcher that waits for a full batch, truncation set on one shared
tokenizer, validation left to onnxruntime, an unbounded queue); ``fixed.create_app``
composes the chapters' fixes and adds what a service needs (readiness after a warm-up
inference, a bounded queue answering 503 with Retry-After, a per-request deadline, a
graceful drain on SIGTERM). Both speak one API (:mod:`demos.service.api`): OpenAI's
``POST /v1/embeddings`` and ``GET /v1/models``, ``/healthz``, ``/readyz`` and ``/metrics``.

:mod:`demos.service.server` runs either in a real server process on 127.0.0.1, bounded in
start and stop; ``python -m demos serve`` runs it for a reader. This is the one package that
imports the other chapters' modules; none imports it.
"""

CHAPTER = 7

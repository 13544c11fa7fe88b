"""Readiness: does ``/readyz`` say 200 only when a request would be served now? (chapter 2)

Kubernetes sends traffic to a pod once its readiness probe says 200 and takes it away when
the probe fails. A readiness that says 200 before the model is loaded (kserve#799,
MLServer#2056) sends users errors at every start and every scale-up; one that stays 200
while requests fail (infinity#609) keeps a dead pod in service until someone restarts it.

Two parts: :func:`watch_startup` (with ``--start``) polls readiness and sends a request
every 50 ms from process start, and any request sent after readiness first said 200 must be
served; :func:`run` then checks that readiness agrees with a request now, and
:func:`final` does the same at the end of the run, after the checks that can break a
service.
"""

from __future__ import annotations

import asyncio

from demos.probe.checks import Context, finding
from demos.probe.client import Outcome, declared_limit, model_id
from demos.probe.report import Finding
from demos.probe.texts import TEXTS

__all__ = ["CANDIDATE_PATHS", "NAME", "final", "run", "watch_startup"]

NAME = "readiness"
CHAPTER = 2
CANDIDATE_PATHS = ("/readyz", "/health", "/healthz", "/ready")
POLL_S = 0.05
FIX_START = ("answer readiness 200 only after the model is loaded and a warm-up inference has "
             "succeeded (set the flag last, from the code that loaded it); 503 before")
FIX_LIVE = ("derive readiness from what serving needs: the model loaded, the batcher task alive, "
            "the last inference not failed, not draining; answer 503 with the reason otherwise")


async def find_ready_path(ctx: Context, preferred: str, *, starting: bool = False,
                          ) -> str | None:
    """The first of ``preferred`` and the usual paths that exists (not 404/405).

    ``starting``: the service is still coming up, so a path that got no answer (nothing
    listens yet, or the server has not accepted yet) is not known to be missing: None, to be
    asked again, rather than a later path (``/healthz``, which is liveness, not readiness)
    chosen because the server began answering between two attempts.
    """
    for path in dict.fromkeys((preferred, *CANDIDATE_PATHS)):
        outcome = await ctx.client.send("GET", path, timeout_s=ctx.bound(3.0))
        if outcome.status is None and starting:
            return None
        if outcome.status is not None and outcome.status not in (404, 405):
            return path
    return None


async def learn_model(ctx: Context) -> None:
    """The model id from ``GET /v1/models`` (the first listed), and a limit it declares."""
    models = await ctx.client.send("GET", "/v1/models", timeout_s=ctx.bound(5.0))
    ctx.client.model = model_id(models.body) or ""
    ctx.max_tokens = ctx.max_tokens or declared_limit(models.body)


async def watch_startup(ctx: Context, preferred: str, limit_s: float) -> list[Finding]:
    """From process start until readiness and a request both succeed (bounded by
    ``limit_s``): the timeline in ``ctx.startup``, a finding if readiness led the model."""
    assert ctx.started is not None
    first_ready: float | None = None
    served_at: float | None = None
    failed_after_ready = []
    while ctx.started.since_start() < limit_s and ctx.remaining() > 2.0:
        if ctx.started.exited is not None:
            break
        if ctx.ready_path is None:
            ctx.ready_path = await find_ready_path(ctx, preferred, starting=True)
        if ctx.client.api == "openai" and not ctx.client.model:
            await learn_model(ctx)
        sent = ctx.started.since_start()
        request = ctx.client.embed([TEXTS[0]],
                                   timeout_s=ctx.bound(min(10.0, ctx.client.timeout_s)))
        ready, outcome = await asyncio.gather(ctx.ready_status(), request)
        if ready is not None and ready.status == 200 and first_ready is None:
            first_ready = sent
            ctx.startup.append(f"{sent:.2f} s: readiness {ctx.ready_path} said 200")
        if outcome.status in (404, 405, 501) or (outcome.status is not None and 400 <= \
                outcome.status < 500 and outcome.status not in (408, 425, 429)):
            ctx.startup.append(f"{sent:.2f} s: {outcome.evidence()}")
            break  # not that API, or a request the service will never serve: discovery says
        if outcome.ok and served_at is None:
            served_at = sent
            ctx.startup.append(f"{sent:.2f} s: first request served")
        if first_ready is not None and sent > first_ready and not outcome.ok:
            failed_after_ready.append(f"{sent:.2f} s after start: {outcome.evidence()}")
        if first_ready is not None and served_at is not None and \
                sent > max(first_ready, served_at) + 0.5:
            break  # half a second of agreement after both came up
        if first_ready is not None and served_at is None and sent > first_ready + 5.0:
            break  # 5 s of "ready" and no request served: evidence enough
        if served_at is not None and sent > served_at and (ctx.ready_path is None or
                                                           sent > served_at + 5.0):
            if ctx.ready_path is not None:
                ctx.startup.append(f"{sent:.2f} s: readiness still not 200, 5 s after the "
                                   "first request was served")
            break
        await asyncio.sleep(POLL_S)
    if failed_after_ready:
        ctx.readiness_reported = True
        return [finding(NAME, CHAPTER, f"readiness said 200 {first_ready:.2f} s after start, "
                        f"but {len(failed_after_ready)} request(s) sent after that failed",
                        [*ctx.startup, *failed_after_ready], FIX_START)]
    return []


async def run(ctx: Context) -> list[Finding]:
    """Readiness now must agree with a request now; a few requests in a row must be served."""
    if ctx.ready_path is None:
        ctx.notes.append("no readiness endpoint found (tried "
                         f"{', '.join(CANDIDATE_PATHS)}); readiness not checked")
        return []
    found = []
    if ctx.client.burst and not ctx.readiness_reported:
        ready = await ctx.ready_status()
        if ready is not None and ready.status == 200:
            found.append(finding(NAME, CHAPTER, "readiness says 200 while a lone request is "
                                 "never answered", [f"GET {ctx.ready_path} -> 200",
                                                    *ctx.carry_evidence[:1]], FIX_LIVE))
    failures = []
    for _ in range(5):
        ready = await ctx.ready_status()
        outcome = await ctx.serving(tries=1)
        if ready is not None and ready.status == 200 and not outcome.ok:
            failures.append(f"{ctx.ready_path} -> 200 and then {outcome.evidence()}")
    if failures:
        found.append(finding(NAME, CHAPTER, f"readiness said 200 while {len(failures)} of 5 "
                             "requests right after it failed", failures, FIX_LIVE))
    return found


async def final(ctx: Context, after: str, failed: Outcome) -> list[Finding]:
    """``failed`` shows the service stopped serving after the ``after`` check: does
    readiness still say 200? (infinity#609)"""
    ready = await ctx.ready_status()
    if ready is None or ready.status != 200:
        return []
    return [finding(NAME, CHAPTER, f"readiness still says 200 while requests fail (after the "
                    f"{after} check)", [f"GET {ctx.ready_path} -> 200", failed.evidence()],
                    FIX_LIVE)]

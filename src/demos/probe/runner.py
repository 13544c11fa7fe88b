"""One probe run: start (if asked), discover, run every check under one budget, stop.

Order matters. Checks that only read come first and the ones that can break a service last
(poison, cancellation). After each check the probe asks for one valid request: if the
service no longer serves, that check gets the blame (a finding, unless it already said so),
readiness is asked whether it noticed, and the remaining checks are skipped, since their
findings would only repeat the breakage.

A service whose batcher waits for a full batch never answers a lone request. When the first
request times out, discovery sends one burst (:func:`.checks.batching.discover`); if the
burst is answered, every later request is carried inside a burst of companions (the
client's carry mode) and the checks run as usual.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from demos.probe.checks import (
    Context,
    Skip,
    bad_input,
    batching,
    cancellation,
    concurrency,
    finding,
    overload,
    poison,
    precision,
    readiness,
    truncation,
)
from demos.probe.client import Client, declared_limit
from demos.probe.process import Started
from demos.probe.report import Report
from demos.probe.texts import TEXTS, read_reference

__all__ = ["Options", "probe"]

CHECKS: tuple[ModuleType, ...] = (readiness, batching, bad_input, precision, truncation,
                                  concurrency, overload, poison, cancellation)
BLAME_CHAPTER = {"readiness": 2, "batching": 3, "bad_input": 5, "precision": 1, "truncation": 6,
                 "concurrency": 4, "overload": 3, "poison": 3, "cancellation": 3}


NOT_STARTED_WAIT_S = 10.0


class CannotProbe(Exception):
    """The service cannot be probed: unreachable, or not the API asked for."""


@dataclass
class Options:
    """What ``inference-pitfalls probe`` takes; see :mod:`demos.probe.cli` for each option."""

    api: str = "openai"
    model: str = ""
    ready_path: str = "/readyz"
    start: str = ""
    reference: str = ""
    budget_s: float = 120.0
    timeout_s: float = 10.0
    min_cosine: float = 0.9999
    max_tokens: int | None = None
    clients: int = 64
    startup_s: float = 60.0


def probe(url: str, progress: Callable[[str], None] | None = None,
          **options: object) -> Report:
    """Probe the service at ``url``; the Report says what was found (``report.clean``).

    Example, in a pytest fixture or a CI step::

        report = probe("http://127.0.0.1:8000")
        assert report.clean, report

    Raises:
        ValueError: for a bad option (a missing reference file, an unknown API).
    """
    opts = Options(**options)  # type: ignore[arg-type]
    reference = read_reference(opts.reference) if opts.reference else None
    say = progress or (lambda line: print(f"probe: {line}", file=sys.stderr, flush=True))
    report = Report(url=url, api=opts.api)
    t0 = time.monotonic()
    started = Started(opts.start) if opts.start else None
    try:
        if started:
            say(f"started {opts.start!r} (pid {started.popen.pid})")
        asyncio.run(_run(url, opts, reference, started, report, say))
    except (KeyboardInterrupt, SystemExit) as interrupted:  # the CLI writes what was found
        interrupted.partial_report = report  # type: ignore[union-attr]
        raise
    finally:
        if started:
            tail = started.output_tail() if started.exited is not None else ""
            stopping = time.monotonic()
            started.stop()
            say(f"stopped the service (pid {started.popen.pid}) in "
                f"{time.monotonic() - stopping:.1f} s")
            if tail:
                report.notes.append(f"the started service exited early; its output: {tail}")
    report.seconds = time.monotonic() - t0
    say(str(report).splitlines()[0])
    return report


async def _run(url: str, opts: Options, reference: object, started: Started | None,
               report: Report, say: Callable[[str], None]) -> None:
    client = Client(url, opts.api, opts.model, opts.timeout_s)
    ctx = Context(client=client, deadline=time.monotonic() + opts.budget_s, progress=say,
                  min_cosine=opts.min_cosine, reference=reference,  # type: ignore[arg-type]
                  max_tokens=opts.max_tokens, started=started, clients=opts.clients,
                  notes=report.notes)
    try:
        await _discover(ctx, opts, report)
        await _checks(ctx, report)
    except CannotProbe as error:
        report.error = str(error)
        if client.budget_timeouts and not ctx.alone:
            report.error = f"the budget ran out during discovery ({error})"
    finally:
        if client.burst:
            report.notes.append(f"carry mode: {client.companions} companion requests were sent "
                                "so that the probe's requests were answered")
        await client.aclose()
    out = ctx.remaining() <= 0 or "the budget ran out" in report.skipped.values()
    if out and not report.error:
        report.error = f"the budget of {opts.budget_s:g} s ran out before every check had run"


async def _discover(ctx: Context, opts: Options, report: Report) -> None:
    """Wait for the service, check it speaks the API, learn the model, options, limit."""
    client = ctx.client
    if ctx.started is not None:
        ctx.progress("watching start-up: readiness and a request every 50 ms")
        found = await readiness.watch_startup(ctx, opts.ready_path, min(opts.startup_s,
                                                                        ctx.remaining()))
        if client.budget_timeouts:
            raise CannotProbe("the budget ran out during discovery (while watching start-up)")
        report.findings += found
        ctx.notes.extend(f"start-up: {line}" for line in ctx.startup)
    first = await _first_answer(ctx, opts)
    if first.ended == "timeout" and not first.budget_out:  # a batcher that waits for more?
        first = await batching.discover(ctx, first)
    if first.status in (404, 405):
        raise CannotProbe(f"not the {opts.api} embeddings API: {first.evidence()}")
    if first.status == 200 and not first.ok:
        raise CannotProbe(f"{client.path} answered 200 but not with {opts.api} embeddings: "
                          f"{first.evidence()}")
    if not first.ok:
        hint = " (GET /v1/models named no model: pass --model)" \
            if opts.api == "openai" and not client.model else ""
        raise CannotProbe(f"{client.path} does not serve a valid request{hint}: "
                          f"{first.evidence()}")
    if ctx.ready_path is None:
        ctx.ready_path = await readiness.find_ready_path(ctx, opts.ready_path)
    ctx.truncate_option = (await client.embed([TEXTS[0]], truncate=True)).ok
    client.truncating_companions = ctx.truncate_option
    ctx.progress(f"{opts.api} API at {client.url}{client.path}, model {client.model!r}, "
                 f"readiness {ctx.ready_path}, truncation option: {ctx.truncate_option}")
    for text in TEXTS:
        alone = await ctx.answer_alone(text)
        if not alone.ok:
            raise CannotProbe(f"one of the probe's texts, sent alone, failed: "
                              f"{alone.evidence()}")
        ctx.alone.append(alone.vectors[0])  # type: ignore[index]


async def _first_answer(ctx: Context, opts: Options) -> object:
    """The first answer to a valid request, waiting (bounded) while nothing listens or the
    service says 503; learns the model id from ``/v1/models`` when --model is not given."""
    client = ctx.client
    # A service we started may take its time; one started by someone else gets 10 s.
    wait_s = opts.startup_s if ctx.started is not None else NOT_STARTED_WAIT_S
    limit = time.monotonic() + min(wait_s, max(1.0, ctx.remaining() - 5.0))
    while True:
        if opts.api == "openai" and not client.model:
            await readiness.learn_model(ctx)
        elif opts.api == "tei" and ctx.max_tokens is None:
            info = await client.send("GET", "/info", timeout_s=ctx.bound(5.0))
            ctx.max_tokens = declared_limit(info.body)
        outcome = await client.embed([TEXTS[0]],
                                     timeout_s=ctx.bound(min(10.0, client.timeout_s)))
        waiting = outcome.ended == "refused" or outcome.status in (429, 503)
        if not waiting or time.monotonic() > limit:
            if outcome.ended == "refused":
                raise CannotProbe(f"nothing answers at {client.url}")
            return outcome
        if ctx.started is not None and ctx.started.exited is not None:
            raise CannotProbe(f"the started service exited with status {ctx.started.exited}: "
                              f"{ctx.started.output_tail(300)}")
        await asyncio.sleep(0.25)


async def _checks(ctx: Context, report: Report) -> None:
    for number, check in enumerate(CHECKS, 1):
        name = check.NAME
        if ctx.remaining() < 3.0:
            report.skipped[name] = "the budget ran out"
            continue
        ctx.progress(f"[{number}/{len(CHECKS)}] {name}...")
        t0 = time.monotonic()
        cut = ctx.client.budget_timeouts
        try:
            found = await check.run(ctx)
        except Skip as why:
            report.skipped[name] = str(why)
            continue
        if ctx.client.budget_timeouts > cut:  # a timeout lowered to the budget's end fired
            report.skipped[name] = "the budget ran out"
            ctx.broken = None
            continue
        report.ran.append(name)
        report.findings += found
        ctx.progress(f"[{number}/{len(CHECKS)}] {name}: "
                     f"{len(found) or 'no'} finding(s), {time.monotonic() - t0:.1f} s")
        after = ctx.broken or await ctx.serving()
        if after.ok and (after.ended != "wrong" or ctx.wrong_answers_seen):
            continue  # a wrong answer once concurrency reported them is that finding again
        if after.budget_out:
            continue  # the next check sees the budget spent
        if not report.by_check(name):
            report.findings.append(finding(
                name, BLAME_CHAPTER[name], f"after the {name} check's requests, the service "
                "no longer serves a valid request", [after.evidence()],
                "see the chapter; the service must survive every request it can be sent"))
        if name != "readiness":
            report.findings += await readiness.final(ctx, name, after)
        for rest in CHECKS[number:]:
            report.skipped[rest.NAME] = f"the service stopped serving after the {name} check"
        return

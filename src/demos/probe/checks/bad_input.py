"""Bad input: malformed requests must get a 4xx with a message (chapter 5).

A service that leaves validation to the model (or to the JSON parser) answers a wrong type
with a 500 and a stack trace, a deeply nested body with a ``RecursionError``, a 1 MB string
with minutes of tokenization. Each request of the catalogue below must be answered with a
4xx and a message; a 5xx, a hang or a dropped connection is a finding. A few requests are
*lenient*: a service may also accept them (200), e.g. an option it does not know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from demos.probe.checks import Context, finding
from demos.probe.report import Finding

__all__ = ["NAME", "Case", "catalogue", "run"]

NAME = "bad_input"
CHAPTER = 5
FIX = ("validate every request before it reaches the tokenizer or the model: types, an empty "
       "list, sizes (texts per request, characters per text), the model id, the options; "
       "answer 400/404/413/422 with a message naming the field, the expected and the received "
       "value; limit the body size and catch the JSON parser's errors (RecursionError too)")


@dataclass(frozen=True)
class Case:
    """One malformed request: a name, a body (JSON value or raw bytes), the method."""

    name: str
    body: Any = None
    raw: bytes | None = None
    method: str = "POST"
    lenient: bool = False  # a 200 is acceptable too
    #: Not sent in carry mode: queued behind a batcher that waits for a full batch, it would
    #: end up in a batch with companions (a 1 MB text padded 64 times is gigabytes).
    heavy: bool = False
    content_type: str = "application/json"


def catalogue(api: str, model: str) -> list[Case]:
    """The malformed requests for ``api`` (field names follow the dialect)."""
    field = "input" if api == "openai" else "inputs"

    def body(value: Any, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {field: value, **extra}
        if api == "openai":
            out.setdefault("model", model)
        return out

    deep = "[" * 100_000 + "]" * 100_000
    cases = [
        Case("body is not JSON", raw=b'{"input": "a cat",'),
        Case("body is empty", raw=b""),
        Case("body is invalid UTF-8", raw=b'{"' + field.encode() + b'": "\xff\xfe caf\xe9"}'),
        Case("body nested 100,000 levels deep",
             raw=f'{{"{field}": {deep}, "model": {json.dumps(model)}}}'.encode()),
        Case("body is a JSON list", body=["a cat"]),
        Case("body is JSON null", body=None, raw=b"null"),
        Case("body is a JSON string", body="a cat"),
        Case(f"{field} is missing", body={"model": model} if api == "openai" else {}),
        Case(f"{field} is null", body=body(None)),
        Case(f"{field} is a number", body=body(42)),
        Case(f"{field} is a boolean", body=body(True)),
        Case(f"{field} is an object", body=body({"text": "a cat"})),
        Case(f"{field} is an empty list", body=body([])),
        Case(f"{field} holds a number", body=body(["a cat", 7])),
        Case(f"{field} holds null", body=body(["a cat", None])),
        Case(f"{field} holds a nested list", body=body([["a cat"]])),
        Case(f"{field} holds 10,000 texts", body=body(["a cat"] * 10_000), lenient=True,
             heavy=True),
        Case(f"{field} is a 1 MB string", body=body("cat " * 262_144), lenient=True,
             heavy=True),
        Case(f"{field} is an empty string", body=body(""), lenient=True),
        Case("truncate is a string", body=body("a cat", truncate="yes"), lenient=True),
        Case("truncation_direction is unknown",
             body=body("a cat", truncate=True, truncation_direction="Sideways"), lenient=True),
        # LitServe answers GET on its embeddings path on purpose; TEI and a single-model
        # server may ignore the model id: a 200 there is a choice, not a crash.
        Case("wrong method (GET)", method="GET", lenient=True),
    ]
    if api == "openai":
        cases += [
            Case("model is unknown", body=body("a cat", model="no-such-model-xyz"),
                 lenient=True),
            Case("model is a number", body=body("a cat", model=7)),
            Case("encoding_format is unknown", body=body("a cat", encoding_format="int3")),
            Case("encoding_format is a number", body=body("a cat", encoding_format=5)),
        ]
    return cases


async def run(ctx: Context) -> list[Finding]:
    """Send each case alone; a finding lists every case that got no clear 4xx."""
    model = ctx.client.model
    bad = []
    cases = catalogue(ctx.client.api, model)
    if ctx.client.burst:
        ctx.notes.append("bad_input: carry mode: not sent: " + ", ".join(
            case.name for case in cases if case.heavy))
        cases = [case for case in cases if not case.heavy]
    for case in cases:
        if ctx.remaining() < 3.0:
            ctx.notes.append("bad_input: the budget ran out before the end of the catalogue")
            break
        raw = case.raw if case.raw is not None or case.method == "GET" else \
            json.dumps(case.body).encode()
        outcome = await ctx.client.send(case.method, ctx.client.path, content=raw,
                                        headers={"content-type": case.content_type},
                                        timeout_s=ctx.bound(ctx.client.timeout_s))
        outcome.request = f"{case.method} {ctx.client.path} ({case.name})"
        status = outcome.status
        if status is not None and 400 <= status < 500 and outcome.message:
            continue
        if case.lenient and status == 200:
            continue
        why = ("no response" if status is None else
               f"a {status} without a message" if 400 <= status < 500 else f"a {status}")
        bad.append(f"{case.name}: {why}; {outcome.evidence()}")
    if not bad:
        return []
    return [finding(NAME, CHAPTER, f"{len(bad)} malformed request(s) got no clear 4xx "
                    "(a 5xx, a hang, a dropped connection or no message)", bad, FIX)]

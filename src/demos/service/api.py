"""The API both services speak: OpenAI's embeddings request, checked; its response and errors.

:func:`parse` turns a raw request body into an :class:`EmbeddingRequest` or raises
:class:`ApiError`, whose message names the field, what was expected and what was received,
and whose status is a 4xx. Errors travel in OpenAI's shape,
``{"error": {"message", "type", "param", "code"}}``, so OpenAI's clients raise them as
``BadRequestError`` and friends. Truncation follows text-embeddings-inference: ``truncate``
(default false: a text past the model's length is refused, not silently cut) and
``truncation_direction`` ("right" or "left"; TEI's "Right"/"Left" are accepted).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi.responses import JSONResponse

from demos.service import engine
from demos.service.settings import Settings

__all__ = ["ApiError", "EmbeddingRequest", "embeddings_body", "error_body", "error_response",
           "model_failed", "models_body", "parse", "too_many_tokens"]

ENCODINGS = ("float", "base64")
DIRECTIONS = ("right", "left")


class ApiError(Exception):
    """A request the service refuses: an HTTP status and OpenAI's error fields."""

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str = "invalid_value", retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class EmbeddingRequest:
    """A checked request: texts in order, and the options that apply to this request only."""

    texts: list[str]
    model: str
    encoding_format: str = "float"
    truncate: bool = False
    truncation_direction: str = "right"


def _shown(value: Any) -> str:
    """A received value for a message: its type and a short repr."""
    text = repr(value)
    text = text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"
    return f"{type(value).__name__} {text}"


def _bad(param: str, expected: str, received: str, status: int = 400,
         code: str = "invalid_value") -> ApiError:
    return ApiError(status, f"{param}: expected {expected}, received {received}",
                    param=param, code=code)


def parse(raw: bytes, settings: Settings) -> EmbeddingRequest:
    """Check a ``POST /v1/embeddings`` body; every refusal is a 4xx ApiError."""
    models, width = engine.aliases(settings), engine.dimensions(settings)
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise _bad("body", "UTF-8 JSON", f"invalid UTF-8 at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise _bad("body", "a JSON object", f"invalid JSON ({error.msg} at character "
                   f"{error.pos})") from None
    except RecursionError:  # a body nested deeper than the parser's stack: not a 500
        raise _bad("body", "a JSON object", "JSON nested deeper than the parser "
                   "allows") from None
    if not isinstance(body, dict):
        raise _bad("body", "a JSON object", _shown(body))
    texts = _texts(body, settings)
    model = body.get("model")
    if "model" not in body:
        raise _bad("model", f"one of {sorted(models)}", "nothing (the field is missing)")
    if not isinstance(model, str):
        raise _bad("model", f"one of {sorted(models)}", _shown(model))
    if model not in models:
        raise _bad("model", f"one of {sorted(models)}", repr(model), 404, "model_not_found")
    encoding = body.get("encoding_format", "float")
    if encoding not in ENCODINGS:
        raise _bad("encoding_format", f"one of {list(ENCODINGS)}", _shown(encoding))
    truncate = body.get("truncate", False)
    if not isinstance(truncate, bool):
        raise _bad("truncate", "true or false", _shown(truncate))
    direction = body.get("truncation_direction", "right")
    if not isinstance(direction, str) or direction.lower() not in DIRECTIONS:
        raise _bad("truncation_direction", f"one of {list(DIRECTIONS)}", _shown(direction))
    dimensions = body.get("dimensions")
    if dimensions is not None and (isinstance(dimensions, bool) or dimensions != width):
        raise _bad("dimensions", f"{width} (this model's width) or no field", _shown(dimensions))
    return EmbeddingRequest(texts, model, encoding, truncate, direction.lower())


def _texts(body: dict[str, Any], settings: Settings) -> list[str]:
    if "input" not in body:
        raise _bad("input", "a string or a list of strings", "nothing (the field is missing)")
    value = body["input"]
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list):
        raise _bad("input", "a string or a list of strings", _shown(value))
    if not texts:
        raise _bad("input", "at least one string", "an empty list")
    if len(texts) > settings.max_inputs:
        raise _bad("input", f"at most {settings.max_inputs} strings", f"{len(texts)} strings",
                   413, "too_many_inputs")
    for i, text in enumerate(texts):
        where = "input" if isinstance(value, str) else f"input[{i}]"
        if not isinstance(text, str):
            raise _bad(where, "a string (token arrays are not supported)", _shown(text))
        if not text.strip():
            raise _bad(where, "a non-empty string", repr(text))
        if len(text) > settings.max_chars:
            raise _bad(where, f"at most {settings.max_chars} characters",
                       f"{len(text)} characters", 413, "input_too_long")
        try:  # JSON's "\ud800" escape parses to a lone surrogate; the tokenizer raises on it
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise _bad(where, "valid Unicode text",
                       f"a lone surrogate at character {error.start}") from None
    return texts


def too_many_tokens(index: int, limit: int, received: int) -> ApiError:
    """413 for a text past the model's length, when the request did not ask to truncate."""
    return _bad(f"input[{index}]", f'at most {limit} tokens (or "truncate": true)',
                f"{received} tokens", 413, "input_too_long")


def model_failed(error: BaseException) -> ApiError:
    """500 for a request whose batch the model failed on, naming the model's error."""
    return ApiError(500, f"the model failed on this request's batch: "
                    f"{type(error).__name__}: {error}", code="model_error")


def embeddings_body(vectors: npt.NDArray[np.float32] | Sequence[npt.NDArray[np.float32]],
                    model: str, encoding_format: str, tokens: int) -> dict[str, Any]:
    """OpenAI's embeddings response: one item per text, in input order, with its index."""
    def encoded(vector: npt.NDArray[np.float32]) -> Any:
        row = np.asarray(vector, dtype="<f4")
        return base64.b64encode(row.tobytes()).decode() if encoding_format == "base64" \
            else row.tolist()
    data = [{"object": "embedding", "index": i, "embedding": encoded(v)}
            for i, v in enumerate(vectors)]
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def models_body(model: str) -> dict[str, Any]:
    """OpenAI's ``GET /v1/models`` response, listing the one served model."""
    return {"object": "list",
            "data": [{"id": model, "object": "model", "created": 0, "owned_by": "demos"}]}


def error_body(error: ApiError) -> dict[str, Any]:
    kind = "invalid_request_error" if error.status < 500 else "server_error"
    return {"error": {"message": error.message, "type": kind, "param": error.param,
                      "code": error.code}}


def error_response(error: ApiError) -> JSONResponse:
    """The error as a response, with ``Retry-After`` when the client should come back."""
    headers = {} if error.retry_after_s is None else {"Retry-After": str(error.retry_after_s)}
    return JSONResponse(error_body(error), status_code=error.status, headers=headers)

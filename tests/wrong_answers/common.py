"""What every chapter's catalogue of wrong answers shares: the registry and the encoder."""

from __future__ import annotations

from collections.abc import Callable

WRONG: list[tuple[str, str, Callable, str]] = []


def wrong(number: str, label: str, named: str) -> Callable[[Callable], Callable]:
    """Register ``answer()`` (which runs one wrong answer through its check) for exercise
    ``number``; ``named`` is a regex its "not yet" message must match."""

    def register(answer: Callable) -> Callable:
        WRONG.append((number, label, answer, named))
        return answer

    return register


_ENCODER: list = []


def encoder():
    """The real MiniLM encoder, loaded once."""
    if not _ENCODER:
        from demos.models import load_encoder

        _ENCODER.append(load_encoder())
    return _ENCODER[0]

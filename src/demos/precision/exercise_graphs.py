"""The check behind exercise 1.4: which operators of a float16 graph compute in float32.

Kept apart from :mod:`.exercises` (the chapter page's three checks) because it belongs to the
depth page, ``01b_bfloat16_int8``, and needs the small graphs of :mod:`.graphs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from demos import exercises
from demos.exercises import Verdict
from demos.precision import graphs

__all__ = ["GRAPH_CASES", "check_4", "float32_ops"]

#: (description, serialized model) for exercise 1.4: each is loaded by onnxruntime as it is.
GRAPH_CASES: tuple[tuple[str, Callable[[], bytes]], ...] = (
    ("x*x, Erf, Exp, ReduceMax, Reshape in float16", lambda: graphs.chain_bytes("float16")),
    ("the same chain in float32", lambda: graphs.chain_bytes("float32")),
    ("x * x / x in float16", lambda: graphs.square_then_divide_bytes("float16")),
    ("x @ W in float16", lambda: graphs.matmul_bytes("float16")),
)


def float32_ops(model: bytes) -> dict[str, int]:
    """The right answer: per operator type, the non-Cast nodes that compute in float32."""
    found = graphs.compute_dtypes(model).get("float32", {})
    return {op: n for op, n in found.items() if op != "Cast"}


def check_4(answer: Callable[[bytes], Any]) -> Verdict:
    """Exercise 1.4: ``answer(model)`` lists what the graph onnxruntime runs computes in float32.

    The expected counts come from the optimised graph this onnxruntime build saves, so the
    check holds on any build; the float16 chain is where counting only the nodes that read an
    inserted Cast, or reading the model as stored, goes wrong.
    """

    def attempt() -> Verdict:
        wrong = []
        for label, make in GRAPH_CASES:
            model = make()
            expected, got = float32_ops(model), answer(model)
            if not isinstance(got, dict):
                return exercises.failed("1.4", f"{label}: expected a dict of operator type to "
                                               f"count, got {type(got).__name__}")
            got = {op: n for op, n in got.items() if n}
            if got != expected:
                missing = sorted(set(expected) - set(got))
                extra = sorted(set(got) - set(expected))
                detail = (f"missing {missing}" * bool(missing) + "; " * bool(missing and extra)
                          + f"not float32 {extra}" * bool(extra)) or "counts differ"
                wrong.append(f"{label}: expected {expected}, got {got} ({detail})")
        right = len(GRAPH_CASES) - len(wrong)
        summary = f"{right} of {len(GRAPH_CASES)} graphs right"
        if wrong:
            return exercises.failed("1.4", f"{summary}; {'; '.join(wrong[:2])}")
        return exercises.passed("1.4", f"{summary}: every node computing in float32 listed, "
                                       "Casts left out")

    return exercises.check("1.4", attempt)

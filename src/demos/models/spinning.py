"""What ``allow_spinning`` does to ``session.run``, for one caller and for several.

``python -m demos bench encoder --spinning`` prints :func:`bench_spinning`'s dict as JSON.
With spinning on, onnxruntime's intra-op threads busy-wait after each operator for the
next one instead of sleeping: a caller alone on idle cores saves the wake-ups; callers that
share the cores with each other (or with other processes) lose the cycles the spinning
threads burn. Which one wins is a property of the machine and its load, so this measures
it rather than asserting it: ``session.run`` alone (inputs tokenized before the clock),
both sessions in paired rounds that alternate which goes first.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from typing import Any

import onnxruntime as ort

from demos.models.encoder import Encoder, load_encoder, make_session

__all__ = ["bench_spinning"]


def bench_spinning(
    callers: Sequence[int] = (1, 4, 8),
    rounds: int = 5,
    *,
    batch_size: int = 1,
    encoder: Encoder | None = None,
    texts: Sequence[str] | None = None,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """Spinning off against spinning on, ``session.run`` alone, for each number of callers.

    ``texts`` (default: :func:`demos.models.bench.held_out_texts`, 64 long-tail texts) are
    tokenized once into calls of ``batch_size`` texts. For ``n`` callers, ``n`` threads
    share those calls round-robin on one session, released together by a barrier; the
    time is from release until the last returns. Each round times both sessions (same
    thread count, only ``allow_spinning`` differs), alternating which goes first; a round's
    ratio is spinning-on time over spinning-off time (> 1: spinning off is faster).
    ``ratios[n]`` is the median over ``rounds``, ``ratio_range[n]`` the lowest and highest.

    Raises:
        ValueError: for bad ``callers``, ``rounds < 1`` or ``batch_size < 1``.
        TimeoutError: if a timing does not finish within ``timeout_s``.
    """
    counts = list(callers)
    if not counts or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in counts):
        raise ValueError(f"callers must be a non-empty list of ints >= 1, got {counts!r}")
    for name, value in (("rounds", rounds), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    from demos.models.bench import held_out_texts

    enc = load_encoder() if encoder is None else encoder
    pool = held_out_texts() if texts is None else list(texts)
    threads = enc.session.get_session_options().intra_op_num_threads
    model = enc.model_path.read_bytes()
    sessions = {"off": make_session(model, threads, allow_spinning=False),
                "on": make_session(model, threads, allow_spinning=True)}
    feeds = [enc.feeds(pool[i:i + batch_size]) for i in range(0, len(pool), batch_size)]
    for session in sessions.values():  # warm-up: first-call allocations off the clock
        session.run(["sentence_embedding"], feeds[0])

    def timed(session: ort.InferenceSession, n: int) -> float:
        gate = threading.Barrier(n + 1, timeout=timeout_s)

        def caller(k: int) -> None:
            gate.wait()
            for f in feeds[k::n]:
                session.run(["sentence_embedding"], f)

        workers = [threading.Thread(target=caller, args=(k,), daemon=True) for k in range(n)]
        for w in workers:
            w.start()
        gate.wait()
        start = time.perf_counter()
        deadline = start + timeout_s
        for w in workers:
            w.join(max(0.0, deadline - time.perf_counter()))
            if w.is_alive():
                raise TimeoutError(f"{n} callers did not finish within {timeout_s} s")
        return time.perf_counter() - start

    ratios: dict[str, list[float]] = {str(n): [] for n in counts}
    for r in range(rounds):
        for n in counts:
            order = ("off", "on") if r % 2 == 0 else ("on", "off")
            took = {side: timed(sessions[side], n) for side in order}
            ratios[str(n)].append(took["on"] / took["off"])
    return {
        "onnxruntime": ort.__version__, "intra_op_threads": threads, "texts": len(pool),
        "batch_size": batch_size, "calls": len(feeds), "rounds": rounds,
        "ratios": {n: round(statistics.median(v), 3) for n, v in ratios.items()},
        "ratio_range": {n: [round(min(v), 3), round(max(v), 3)] for n, v in ratios.items()},
    }

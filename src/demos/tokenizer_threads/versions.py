"""What the installed ``tokenizers`` does, observed (the chapter's version-dependent claims).

Each probe runs the behaviour in a child process under a bound (:mod:`.probes`), with the
other thread provably inside ``encode_batch`` where that matters, and reports what it saw
in a few words. Nothing here compares ``tokenizers.__version__`` with a table: ``python -m
demos compat`` runs :func:`observe` on each release of the compatibility matrix, and
``book/compat.md`` shows what each one did.
"""

from __future__ import annotations

from demos.tokenizer_threads import probes
from demos.tokenizer_threads.texts import shipped_tokenizer_json

__all__ = ["PROBES", "RUN", "describe", "observe"]

#: probe id -> the question it answers.
PROBES: dict[str, str] = {
    "configure_during_batch": (
        "What does enable_truncation do while another thread is inside encode_batch?"),
    "configure_with_python_pretokenizer": (
        "Does that call deadlock when the batch's pre-tokenizer is written in Python?"),
    "fork_inside_batch_configure": (
        "In a child forked while a thread is inside encode_batch, what does "
        "enable_truncation do?"),
    "fork_inside_batch_encode": (
        "In a child forked while a thread is inside encode_batch, does encode_batch finish?"),
    "fork_after_parallel_batch": (
        "With TOKENIZERS_PARALLELISM=true, does a forked child's encode_batch finish after "
        "the parent's batch?"),
    "fork_after_default_batch": (
        "With TOKENIZERS_PARALLELISM unset, does a forked child's encode_batch finish after "
        "the parent's batch?"),
}

#: The probes (:data:`.probes.PROBES`) that the answers are read from.
RUN = ("configure_inside_batch", "configure_during_batch", "fork_inside_batch_configure",
        "fork_inside_batch_encode", "fork_after_batch_parallel", "fork_after_batch_default")


def observe(*, timeout_s: float = 3.0) -> dict[str, str]:
    """probe id -> the behaviour seen on this installation, in a few stable words.

    A probe still running ``timeout_s`` after it reached its experiment is deadlocked by
    construction (what it waits for cannot happen), so the bound only decides how soon
    that is reported.
    """
    return describe(probes.run_probes(list(RUN), shipped_tokenizer_json(), timeout_s=timeout_s))


def describe(results: list[probes.ProbeResult]) -> dict[str, str]:
    """The answers to :data:`PROBES`, read from the results of the :data:`RUN` probes."""
    found = {r.name: r for r in results}

    def said(name: str) -> str:
        result = found[name]
        if result.hung:
            return "hung"
        if result.status != "ok" or not result.outcomes:
            return f"failed: {result.output.splitlines()[-1:] or ['no output']}"
        return result.outcomes[0].removeprefix("child ")

    inside, during = said("configure_inside_batch"), said("configure_during_batch")
    torn = "batch torn: True" in found["configure_during_batch"].outcomes
    if inside.startswith("raised "):
        configure = inside.replace("raised ", "raises ", 1)
    elif inside == "hung" and during == "returned" and not torn:
        configure = "blocks until the batch ends"
    elif inside == "hung":
        configure = f"blocks; with a plain batch it {during}"
    elif inside == "returned":
        configure = "neither: returns at once" + (", and the batch is torn" if torn else "")
    else:
        configure = inside
    deadlock = {"hung": "deadlocks: the call waits for the batch holding the GIL",
                "returned": "no: the call returns at once"}.get(
        inside, f"no: the call {inside.replace('raised', 'raises', 1)}")

    def child(name: str, ok: str) -> str:
        seen = said(name)
        if seen == "hung":
            return "the child hangs"
        if seen == "returned":
            return ok
        return f"the child {seen.replace('raised', 'raises', 1)}"

    return {
        "configure_during_batch": configure,
        "configure_with_python_pretokenizer": deadlock,
        "fork_inside_batch_configure": child("fork_inside_batch_configure", "the child returns"),
        "fork_inside_batch_encode": child("fork_inside_batch_encode", "the child finishes"),
        "fork_after_parallel_batch": child("fork_after_batch_parallel", "the child finishes"),
        "fork_after_default_batch": child("fork_after_batch_default", "the child finishes"),
    }

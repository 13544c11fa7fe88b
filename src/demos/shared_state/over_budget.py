"""What going over the thread budget did, judged from two :func:`layouts.measure` grids.

The thread budget page measures every layout at several ``intra_op_num_threads`` twice:
with onnxruntime's pool threads sleeping between parallel parts (``allow_spinning`` "0",
as the book's encoder runs) and spinning (onnxruntime's default). Throughput alone cannot
tell the two kinds of "going over the budget paid" apart: a process that does less work per
request, and a process that takes a larger share of a machine it shares with other jobs.
So every comparison here is made on three numbers: requests per second, p99 latency, and
CPU milliseconds per request (with the cores used, CPU seconds per wall second, beside
them). And each is judged against the noise of the run: ``intra_op_num_threads=1`` has no
pool to spin, so it is the same configuration in both grids, and the gap between its two
measurements is how far two measurements of one thing land apart on this machine.
Differences within that gap are reported as "cannot tell", not as a finding.
"""

from __future__ import annotations

from dataclasses import dataclass

from demos import knobs
from demos.shared_state.layouts import LAYOUTS, Layouts

__all__ = ["Noise", "Over", "budget", "compare", "noise", "verdicts"]


def budget(layout: str, workers: int, cores: int) -> int:
    """The thread budget's ``intra_op_num_threads`` for ``layout``: the most threads that
    may compute at once without exceeding ``cores`` (and never below 1). "one request" is
    one requester on one session."""
    knobs.choice("layout", layout, LAYOUTS)
    knobs.integer("workers", workers)
    knobs.integer("cores", cores)
    if layout == "one request":
        return cores
    if layout == "shared session":  # the callers share one pool: the threads add
        return max(1, cores - workers + 1)
    return max(1, cores // workers)  # a pool per requester: they multiply


@dataclass(frozen=True)
class Noise:
    """How far the same configuration (``intra_op_num_threads=1``) measured apart in two
    grids, as the largest relative gap over the layouts, for each of the three numbers."""

    rate: float
    p99: float
    cpu: float


def _gap(a: float, b: float) -> float:
    return abs(a - b) / min(a, b) if min(a, b) > 0 else float("inf")


def noise(one: Layouts, other: Layouts) -> Noise:
    """The relative gaps between the two grids' ``intra_op_num_threads=1`` points."""
    if one.intra_ops[0] != 1 or other.intra_ops[0] != 1:
        raise ValueError(f"both grids must start at intra_op_num_threads=1 (no pool, the same "
                         f"configuration in both), got {one.intra_ops[0]} and "
                         f"{other.intra_ops[0]}")
    pairs = [(one.point(lay, 1), other.point(lay, 1)) for lay in one.layouts
             if lay in other.layouts]
    return Noise(max(_gap(a.calls_per_s, b.calls_per_s) for a, b in pairs),
                 max(_gap(a.p99_ms, b.p99_ms) for a, b in pairs),
                 max(_gap(a.cpu_ms_per_call, b.cpu_ms_per_call) for a, b in pairs))


@dataclass(frozen=True)
class Over:
    """One layout of one grid: the budget's ``k`` against the largest ``k`` measured above
    it (``over`` is None when no measured ``k`` is above the budget). Ratios are over/budget."""

    layout: str
    budget: int
    over: int | None
    best: int  # the k that served the most requests/s
    rate: float
    p99: float
    cpu: float
    cores_used: tuple[float, float]  # at the budget's k, at the k over it


def compare(grid: Layouts, cores: int) -> list[Over]:
    """Every layout of ``grid``: what the largest measured ``k`` over its budget served."""
    found = []
    ks = grid.intra_ops
    for layout in grid.layouts:
        allowed = budget(layout, 1 if layout == "one request" else grid.workers, cores)
        k = max((k for k in ks if k <= allowed), default=None)
        if k is None:
            raise ValueError(f"no measured intra_op_num_threads is within the budget of "
                             f"{allowed} for {layout!r}: measure from 1")
        above = [k2 for k2 in ks if k2 > allowed]
        best = max(ks, key=lambda k2: grid.point(layout, k2).calls_per_s)
        b = grid.point(layout, k)
        if not above:
            found.append(Over(layout, k, None, best, 1.0, 1.0, 1.0, (b.cores_used, b.cores_used)))
            continue
        o = grid.point(layout, max(above))
        found.append(Over(layout, k, max(above), best, o.calls_per_s / b.calls_per_s,
                          o.p99_ms / b.p99_ms, o.cpu_ms_per_call / b.cpu_ms_per_call,
                          (b.cores_used, o.cores_used)))
    return found


def _moved(ratio: float, gap: float) -> int:
    """+1 if ``ratio`` is above 1 by more than ``gap``, -1 if below by more, 0 otherwise."""
    if ratio > 1 + gap:
        return 1
    if ratio < 1 / (1 + gap):
        return -1
    return 0


def _layouts(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def verdicts(setting: str, overs: list[Over], gap: Noise) -> list[str]:
    """Sentences that say what going over the budget did in one grid, from its numbers:
    what moved beyond the noise, what did not, and what can not be told apart."""
    judged = [o for o in overs if o.over is not None]
    if not judged:
        return [f"{setting}: no intra_op_num_threads above the budget was measured."]
    rate = {o.layout: _moved(o.rate, gap.rate) for o in judged}
    p99 = {o.layout: _moved(o.p99, gap.p99) for o in judged}
    cpu = {o.layout: _moved(o.cpu, gap.cpu) for o in judged}
    lines = [
        f"{setting}: going over the budget served more requests/s in "
        f"{_layouts([x for x, v in rate.items() if v > 0])}, fewer in "
        f"{_layouts([x for x, v in rate.items() if v < 0])}, and cannot be told apart from "
        f"the budget in {_layouts([x for x, v in rate.items() if not v])} (noise ±{gap.rate:.0%}"
        f"); its p99 rose in {_layouts([x for x, v in p99.items() if v > 0])} and fell in "
        f"{_layouts([x for x, v in p99.items() if v < 0])} (noise ±{gap.p99:.0%})."]
    spent = ", ".join(f"{o.cpu:.2f}× ({o.layout})" for o in judged)
    line = (f"{setting}: CPU per request over the budget against at it: {spent}; beyond the "
            f"noise (±{gap.cpu:.0%}) it rose in {_layouts([x for x, v in cpu.items() if v > 0])}"
            f", fell in {_layouts([x for x, v in cpu.items() if v < 0])}, and cannot be told "
            f"apart in {_layouts([x for x, v in cpu.items() if not v])}.")
    share = [o for o in judged if rate[o.layout] > 0 and cpu[o.layout] >= 0]
    cheaper = [o.layout for o in judged if rate[o.layout] > 0 and cpu[o.layout] < 0]
    burned = [o.layout for o in judged if rate[o.layout] <= 0 and cpu[o.layout] > 0]
    if share:
        went = ", ".join(f"{o.cores_used[0]:.2f} → {o.cores_used[1]:.2f} ({o.layout})"
                         for o in share)
        line += (f" Where more requests were served with no less CPU per request, the cores "
                 f"used went {went}: the gain is a larger share of the machine, not less work "
                 f"per request; where cores are free and the budget already fills them, there "
                 f"is no share left to take.")
    if cheaper:
        line += (f" In {_layouts(cheaper)} a request cost less CPU over the budget: there the "
                 f"larger pool did less work per request.")
    if burned:
        line += (f" In {_layouts(burned)} the threads over the budget burned more CPU per "
                 f"request without serving more.")
    if not (share or cheaper or burned or any(rate.values()) or any(cpu.values())):
        line += (" This run cannot tell a difference beyond the noise in CPU per request or "
                 "in throughput.")
    lines.append(line)
    return lines

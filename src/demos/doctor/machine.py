"""The machine itself: the ``python`` interpreter, the ``cores`` and the ``disk`` checks."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import sys
from collections.abc import Sequence

from demos.doctor.pins import DISTRIBUTION
from demos.doctor.result import FAIL, PASS, WARN, Result

__all__ = ["check_cores", "check_disk", "check_python"]

#: Free disk where the cache lives: below FAIL_GB the conversion cannot be stored.
FAIL_GB, WARN_GB = 0.25, 1.0


def check_python() -> list[Result]:
    found = ".".join(map(str, sys.version_info[:3]))
    try:
        spec = importlib.metadata.metadata(DISTRIBUTION)["Requires-Python"] or ""
    except importlib.metadata.PackageNotFoundError:
        return [Result("python", FAIL, f"{found}; the package {DISTRIBUTION} is not installed "
                       "(pip install -e .)")]
    ok = _satisfies(sys.version_info[:3], spec)
    return [Result("python", PASS if ok else FAIL, f"{found} (supported: {spec or 'any'})")]


def _satisfies(version: Sequence[int], spec: str) -> bool:
    """``version`` meets every clause of a ``>=3.10,<4``-style specifier (``packaging``
    would do, but the doctor must run before anything else is known to be installed)."""

    def parse(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.strip().split(".") if p.isdigit())

    have = tuple(version)
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = re.match(r"(~=|==|!=|<=|>=|<|>)\s*([\d.*]+)$", clause)
        if not match:
            continue
        op, text = match.groups()
        want = parse(text.rstrip(".*"))
        mine = have[: len(want)] if op in ("==", "!=") and text.endswith("*") else have
        want_padded = want + (0,) * (len(mine) - len(want))
        ok = {
            ">=": mine >= want_padded, ">": mine > want_padded, "<=": mine <= want_padded,
            "<": mine < want_padded, "==": mine == want_padded, "!=": mine != want_padded,
            "~=": mine >= want_padded and have[: len(want) - 1] == want[:-1],
        }[op]
        if not ok:
            return False
    return True


def check_cores() -> list[Result]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    status = PASS if cores >= 2 else WARN
    note = "" if cores >= 2 else "; the threaded chapters run, slowly"
    return [Result("cores", status, f"{cores} available to this process{note}")]


def check_disk() -> list[Result]:
    from demos.models.cache import cache_dir

    folder = cache_dir()
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free / 1e9
    status = FAIL if free < FAIL_GB else WARN if free < WARN_GB else PASS
    return [Result("disk", status, f"{free:.1f} GB free for the model cache (needs "
                   f"{FAIL_GB} GB; {WARN_GB} GB advised)")]

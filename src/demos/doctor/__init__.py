"""``python -m demos doctor``: is this machine ready for the book? Checked offline.

One line per check, ``PASS`` / ``WARN`` / ``FAIL``, with the value found and what was
expected, so a teacher can ask a room of laptops for "no FAIL line" before the session:

* ``python``: the interpreter against ``Requires-Python`` of the installed package.
* ``pin <name>``: each package pinned in ``requirements.txt`` against its installed version
  (the checkout's file; an installed copy of the package reads the pins shipped with it).
* ``model wheel``: the model wheel is installed at its pinned version, and its
  ``model.zip`` hashes to what the pinned wheel (``requirements-model.txt``) contains.
* ``onnx``: the converted model is in the cache (verified) or is converted now; timed.
* ``encode``: a few sentences through the real encoder match a stored fingerprint of
  the expected embeddings (cosines and leading components, within a tolerance).
* ``cores`` and ``disk``: CPUs this process may use, free space where the cache lives.

It never downloads anything: it reads installed metadata and files, and at most converts
the model into the local cache, exactly as the first chapter would.

Exit status: 0 when no check FAILED (warnings allowed), 1 otherwise.
"""

# The checks live in demos.doctor.machine (python, cores, disk), demos.doctor.pins (the
# pins) and demos.doctor.model (model wheel, onnx, encode); this module runs them.

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Sequence

from demos.doctor.machine import check_cores, check_disk, check_python
from demos.doctor.model import (
    FINGERPRINT_PATH,
    check_encode,
    check_model_wheel,
    check_onnx,
    write_fingerprint,
)
from demos.doctor.pins import (
    PINS_PATH,
    REQUIREMENTS_ENV_VAR,
    check_pins,
    checkout_root,
    parse_pins,
    pins_text,
    read_pins,
)
from demos.doctor.result import FAIL, PASS, WARN, Result

__all__ = [
    "CHECKS",
    "FINGERPRINT_PATH",
    "PINS_PATH",
    "Result",
    "add_arguments",
    "command",
    "main",
    "parse_pins",
    "pins_text",
    "read_pins",
    "run_checks",
    "write_fingerprint",
]

#: Every check by name, in the order they run.
CHECKS: dict[str, Callable[..., list[Result]]] = {
    "python": check_python,
    "pins": check_pins,
    "model": check_model_wheel,
    "onnx": check_onnx,
    "encode": check_encode,
    "cores": check_cores,
    "disk": check_disk,
}


def run_checks(names: Iterable[str] | None = None, *, requirements: str | None = None,
               echo: Callable[[str], None] | None = None) -> list[Result]:
    """Run the named checks (all by default), echoing each line as it is found."""
    results: list[Result] = []
    for name in names or CHECKS:
        if name not in CHECKS:
            raise ValueError(f"check must be one of {', '.join(CHECKS)}, got {name!r}")
        fn = CHECKS[name]
        lines = fn(requirements) if name == "pins" else fn()
        for line in lines:
            if echo is not None:
                echo(str(line))
        results += lines
    return results


# -- the command ----------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="append", choices=list(CHECKS), dest="checks",
                        help="run only this check (repeatable); default: all")
    parser.add_argument("--requirements", metavar="FILE",
                        help=f"check the pins of this file (default: the checkout's "
                             f"requirements.txt; ${REQUIREMENTS_ENV_VAR} also sets it)")
    parser.add_argument("--write-fingerprint", action="store_true",
                        help="maintainers: store the real model's fingerprint and exit")
    parser.add_argument("--write-pins", action="store_true",
                        help="maintainers: ship the checkout's pins in the package and exit")


def command(args: argparse.Namespace) -> int:
    if args.write_fingerprint:
        write_fingerprint()
        print(f"wrote {FINGERPRINT_PATH.name}")
        return 0
    if args.write_pins:
        root = checkout_root()
        if root is None:
            raise ValueError("--write-pins needs a checkout (an editable install), got none")
        PINS_PATH.write_text(pins_text(root / "requirements.txt"), encoding="utf-8")
        print(f"wrote {PINS_PATH.name}")
        return 0
    print(f"Inference Pitfalls doctor (offline): {sys.executable}")
    results = run_checks(args.checks, requirements=args.requirements,
                         echo=lambda line: print(line, flush=True))
    counts = {s: sum(r.status == s for r in results) for s in (PASS, WARN, FAIL)}
    verdict = "ready" if not counts[FAIL] else "NOT ready: fix the FAIL lines above"
    print(f"doctor: {counts[PASS]} passed, {counts[WARN]} warnings, {counts[FAIL]} failed "
          f"— {verdict}")
    return 1 if counts[FAIL] else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos doctor", description=__doc__)
    add_arguments(parser)
    return command(parser.parse_args(argv))

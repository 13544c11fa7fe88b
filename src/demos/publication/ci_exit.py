"""The forked child's exit as a CI machine sees it, beside the probe a reader's shell sees.

``versions.forked_child_exit`` removes ``CI`` and ``GITHUB_ACTIONS`` from the environment, so
that it answers for a reader's shell. A CI machine sets them, and with them ``import
onnxruntime`` starts a different number of OS threads (``versions.threads_after_import``).
:func:`forked_child_exit_with_ci` runs the same probe with ``CI=true``, so the chapter shows
what a CI run sees instead of asserting it. Kept out of ``versions.py``: that module's source
is hashed into the compatibility matrix's records.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from demos.publication import versions

__all__ = ["forked_child_exit_with_ci"]


def forked_child_exit_with_ci(bound_s: float = versions.EXIT_BOUND_S) -> str:
    """What a forked child's ``sys.exit(0)`` did with ``CI=true`` set (``GITHUB_ACTIONS``
    unset): ``"exit 0"``, ``"killed by SIG…"`` or ``"hangs in exit (killed at the bound)"``."""
    if not bound_s > 0:
        raise ValueError(f"bound_s must be a number of seconds > 0, got {bound_s!r}")
    env = {k: v for k, v in os.environ.items() if k not in versions.CI_MARKERS}
    env["CI"] = "true"
    # The very probe of versions.forked_child_exit: fork after the import, exit, wait (bounded).
    probe = subprocess.run([sys.executable, "-c", versions._EXIT_PROBE, str(bound_s)],
                           capture_output=True, text=True, timeout=bound_s + 30, env=env)
    seen = probe.stdout.strip().splitlines()[-1] if probe.stdout.strip() else "?"
    if seen == "hung":
        return "hangs in exit (killed at the bound)"
    if not seen.lstrip("-").isdigit():
        raise RuntimeError(f"the exit probe printed {probe.stdout!r}: {probe.stderr[-400:]}")
    code = int(seen)
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"

"""``--start COMMAND``: the one process the probe may start, and therefore stop.

The command runs in a new session (its own process group), so that stopping it reaches the
workers a server forks (gunicorn, uvicorn ``--workers``), and nothing else: the probe
signals that group only, by its id, never a process it did not start. Stop is bounded:
SIGTERM, a grace period, then SIGKILL. Its output goes to a temporary file whose tail is
shown when the service dies or fails to start.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
import time

__all__ = ["Started"]


class Started:
    """A service started by the probe.

    Args:
        command: a shell-like command line, split with :func:`shlex.split` (no shell).

    Raises:
        ValueError: if the command is empty or its program cannot be started.
    """

    def __init__(self, command: str) -> None:
        argv = shlex.split(command)
        if not argv:
            raise ValueError("--start must be a command, got an empty string")
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process
        self.t0 = time.monotonic()
        try:
            self.popen = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as error:
            self._log.close()
            raise ValueError(f"--start could not run {argv[0]!r}: {error}") from None

    def since_start(self) -> float:
        return time.monotonic() - self.t0

    @property
    def exited(self) -> int | None:
        """The exit status once the process has ended, else None."""
        return self.popen.poll()

    def output_tail(self, chars: int = 600) -> str:
        """The end of what the process printed, on one line."""
        try:
            self._log.flush()
            self._log.seek(0, os.SEEK_END)
            size = self._log.tell()
            self._log.seek(max(0, size - chars))
            return " ".join(self._log.read().decode("utf-8", "replace").split())
        except (OSError, ValueError):
            return ""

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the process group, wait ``grace_s``, then SIGKILL it; reap the process."""
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace_s)
        # Workers may outlive their parent for a moment: the group gets SIGKILL either way.
        self._signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5.0)
        self._log.close()

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)  # the group's id is the child's pid (new session)

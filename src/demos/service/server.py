"""Run a service in a real server process: a bounded start, a bounded stop, nothing left behind.

uvicorn serves one process; gunicorn with uvicorn workers serves more. The parent binds the
listening socket itself (127.0.0.1, a free port) and hands it to the server by file
descriptor, so no other process can take the port between choosing and serving it. The
server runs in a process group of its own, so stopping it stops its workers too.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import httpx

from demos.service.settings import ENV_VAR, Settings, from_env, to_env

__all__ = ["Running", "app_from_env", "bind", "command", "serving", "stop"]

#: What uvicorn and gunicorn import in the server process: the app named by DEMOS_SERVICE.
FACTORY = "demos.service.server:app_from_env"


def app_from_env() -> Any:
    """The app ``DEMOS_SERVICE`` names (see :func:`demos.service.settings.from_env`)."""
    impl, settings = from_env()
    return importlib.import_module(f"demos.service.{impl}").create_app(settings)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket, inheritable by a child; port 0 picks a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def command(fd: int, *, workers: int = 1, drain_s: float = 10.0, quiet: bool = True,
            preload: bool = False) -> list[str]:
    """The server command line for an already bound socket ``fd``.

    One worker: uvicorn. More: gunicorn with uvicorn workers (``preload``: the app is
    built in the master, before fork, as ``gunicorn --preload`` does).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    level = "warning" if quiet else "info"
    grace = str(int(drain_s) + 2)  # after our own drain (fixed.py), for what is left
    if workers == 1:
        return [sys.executable, "-m", "uvicorn", "--factory", FACTORY, "--fd", str(fd),
                "--log-level", level, "--timeout-graceful-shutdown", grace]
    return [sys.executable, "-m", "gunicorn", "--worker-class", "uvicorn_worker.UvicornWorker",
            "--workers", str(workers), "--bind", f"fd://{fd}", "--log-level", level,
            "--graceful-timeout", grace, *(["--preload"] if preload else []), f"{FACTORY}()"]


@dataclass(frozen=True)
class Running:
    """A server process started by :func:`serving`."""

    url: str
    pid: int
    impl: str
    settings: Settings
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def output(self) -> str:
        """What the server printed so far (its log), for an error message."""
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def _wait_alive(running: Running, bound_s: float) -> None:
    deadline = time.monotonic() + bound_s
    with httpx.Client(timeout=2.0) as client:
        while True:
            if running.process.poll() is not None:
                raise RuntimeError(f"the {running.impl} server exited with code "
                                   f"{running.process.returncode}:\n{running.output()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{running.url}/healthz").status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {running.impl} server did not answer /healthz within "
                                   f"{bound_s} s:\n{running.output()[-3000:]}")
            time.sleep(0.05)


def stop(process: subprocess.Popen[Any], bound_s: float = 20.0) -> int:
    """SIGTERM the process group, SIGKILL it after ``bound_s``; the exit code.

    Whatever is left of the group afterwards (a worker orphaned by its master) is killed.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        code = process.wait(bound_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        code = process.wait(bound_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return code


@contextlib.contextmanager
def serving(impl: str = "fixed", settings: Settings | None = None, *, workers: int = 1,
            preload: bool = False, start_s: float = 90.0, stop_s: float = 20.0,
            ) -> Iterator[Running]:
    """Serve ``impl`` ("broken" or "fixed") on 127.0.0.1 and a free port, for a ``with``.

    Returns once ``/healthz`` answers (at most ``start_s``: the broken service loads its
    model before it listens; the fixed one answers at once and loads in the background).
    On exit the server is stopped (:func:`stop`, at most ``2 × stop_s``).

    Raises:
        ValueError: for an unknown ``impl`` or bad settings.
        RuntimeError: if the server exits during start-up (its log in the message).
        TimeoutError: if ``/healthz`` does not answer within ``start_s``.
    """
    settings = Settings() if settings is None else settings
    env = {**os.environ, ENV_VAR: to_env(impl, settings), "OMP_NUM_THREADS": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    sock = bind()
    port = sock.getsockname()[1]
    with tempfile.TemporaryFile() as log:
        try:
            process = subprocess.Popen(
                command(sock.fileno(), workers=workers, drain_s=settings.drain_s,
                        preload=preload),
                pass_fds=[sock.fileno()], env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            sock.close()
        running = Running(f"http://127.0.0.1:{port}", process.pid, impl, settings, process, log)
        try:
            _wait_alive(running, start_s)
            yield running
        finally:
            stop(process, stop_s)

"""Publishing a model before it is ready: a bare ``ready`` flag and an unlocked lazy global."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

from demos.publication.errors import ModelLoadError, ModelNotReadyError
from demos.publication.model import Model, load_model

__all__ = ["LazyModel", "ModelHolder", "ModelLoadError", "ModelNotReadyError", "get_model",
           "start_worker"]

M = TypeVar("M")
log = logging.getLogger(__name__)


class ModelHolder(Generic[M]):
    """Load a model on a background thread; serve requests once it is ready.

    Args:
        load: builds the model (creates the session; slow).
        warm_up: runs once on the built model before it takes traffic.
        name: the loader thread's name.

    Concurrency: ``start()`` once; ``is_ready``, ``get`` and ``predict`` from any thread.
    """

    def __init__(
        self,
        load: Callable[[], M],
        *,
        warm_up: Callable[[M], object] | None = None,
        name: str = "model-loader",
    ) -> None:
        self._load = load
        self._warm_up = warm_up or (lambda model: None)
        self._model: M | None = None
        self._ready = False
        self._thread = threading.Thread(target=self._run_loader, name=name, daemon=True)

    def start(self) -> ModelHolder[M]:
        """Start loading in the background; return at once."""
        self._thread.start()
        return self

    def _run_loader(self) -> None:
        try:
            model = self._load()
            self._ready = True  # PITFALL: the flag goes up before the model is stored,
            self._warm_up(model)  # PITFALL: and warm-up still runs in the gap
            self._model = model
        except Exception:
            log.exception("model load failed")  # PITFALL: waiters are never told

    def is_ready(self) -> bool:
        """True once the model can serve requests."""
        return self._ready

    def get(self, timeout_s: float = 30.0) -> M:
        """The model, waiting up to ``timeout_s`` seconds for it to be ready.

        Raises:
            ModelNotReadyError: if it is not ready within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while not self._ready:  # PITFALL: polls a flag that says nothing about _model
            if time.monotonic() > deadline:
                raise ModelNotReadyError(f"model not ready after {timeout_s}s")
            time.sleep(0.001)
        return self._model  # type: ignore[return-value]

    def predict(self, x: Any, timeout_s: float = 30.0) -> Any:
        """``get(timeout_s).predict(x)``."""
        return self.get(timeout_s).predict(x)  # type: ignore[attr-defined]

    def join(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the loader thread to end; True if it has."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()


class LazyModel(Generic[M]):
    """A model loaded on first use and shared by every caller.

    Concurrency: ``get`` may be called from any thread.
    """

    def __init__(self, load: Callable[[], M]) -> None:
        self._load = load
        self._model: M | None = None

    def get(self) -> M:
        """The model, loading it on the first call."""
        if self._model is None:  # PITFALL: check, then act, with no lock: every thread
            self._model = self._load()  # that checks before the first load stores its own
        return self._model


_default: LazyModel[Model] = LazyModel(load_model)


def get_model() -> Model:
    """The process-wide model, loaded on first use."""
    return _default.get()


def start_worker(target: Callable[..., object], *args: Any, name: str = "worker") -> BaseProcess:
    """Start a worker process that runs ``target(*args)``; the caller joins it.

    Concurrency: the worker runs beside this process; ``target`` and ``args`` must be
    picklable (a module-level function), and the model is whatever the worker's code finds.
    """
    context = multiprocessing.get_context("fork")  # PITFALL: the worker inherits the model
    process = context.Process(target=target, args=args, name=name, daemon=True)  # loaded here,
    process.start()  # PITFALL: a copy of its session whose threads did not survive the fork
    return process

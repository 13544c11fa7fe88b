"""Publishing a model when it is ready: an Event set after it is stored; a locked lazy load."""

from __future__ import annotations

import math
import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

from demos.publication.errors import ModelLoadError, ModelNotReadyError
from demos.publication.model import Model, load_model

__all__ = ["LazyModel", "ModelHolder", "ModelLoadError", "ModelNotReadyError", "get_model",
           "start_worker"]

M = TypeVar("M")


class ModelHolder(Generic[M]):
    """Load a model on a background thread; serve requests once it is ready.

    Args:
        load: builds the model (creates the session; slow).
        warm_up: runs once on the built model before it takes traffic.
        name: the loader thread's name.

    Concurrency: ``start()`` once; ``is_ready``, ``get`` and ``predict`` from any thread.
    ``get`` blocks at most ``timeout_s``. The model is published once, complete, through
    an Event: a thread that sees it set sees the finished model (or the load error).
    """

    def __init__(
        self,
        load: Callable[[], M],
        *,
        warm_up: Callable[[M], object] | None = None,
        name: str = "model-loader",
    ) -> None:
        if not callable(load):
            raise TypeError(f"load must be callable, got {type(load).__name__}")
        if warm_up is not None and not callable(warm_up):
            raise TypeError(f"warm_up must be callable or None, got {type(warm_up).__name__}")
        self._load = load
        self._warm_up = warm_up or (lambda model: None)
        self._model: M | None = None
        self._error: BaseException | None = None
        # Set once, after _model or _error is written; never cleared.
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run_loader, name=name, daemon=True)

    def start(self) -> ModelHolder[M]:
        """Start loading in the background; return at once."""
        self._thread.start()
        return self

    def _run_loader(self) -> None:
        try:
            model = self._load()
            self._warm_up(model)
            self._model = model  # FIX: store the finished model first,
        except BaseException as error:
            self._error = error  # FIX: keep a failure for every waiter,
        finally:
            self._done.set()  # FIX: then publish, once, through an Event

    def is_ready(self) -> bool:
        """True once the model can serve requests."""
        return self._done.is_set() and self._error is None

    def get(self, timeout_s: float = 30.0) -> M:
        """The model, waiting up to ``timeout_s`` seconds for it to be ready.

        Raises:
            ModelNotReadyError: if it is not ready within ``timeout_s``.
            ModelLoadError: if loading failed (the loader's exception is the cause).
        """
        _check_timeout(timeout_s)
        if not self._done.wait(timeout_s):  # FIX: wait on the Event, with a bound
            raise ModelNotReadyError(f"model not ready after {timeout_s}s")
        if self._error is not None:
            raise ModelLoadError(f"model failed to load: {self._error!r}") from self._error
        return self._model  # type: ignore[return-value]

    def predict(self, x: Any, timeout_s: float = 30.0) -> Any:
        """``get(timeout_s).predict(x)``."""
        return self.get(timeout_s).predict(x)  # type: ignore[attr-defined]

    def join(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the loader thread to end; True if it has."""
        _check_timeout(timeout_s)
        self._thread.join(timeout_s)
        return not self._thread.is_alive()


class LazyModel(Generic[M]):
    """A model loaded on first use and shared by every caller.

    Concurrency: ``get`` may be called from any thread; exactly one call loads, the
    others block until it is done and get the same object. A failed load raises in the
    caller that ran it and is retried by the next call.
    """

    def __init__(self, load: Callable[[], M]) -> None:
        if not callable(load):
            raise TypeError(f"load must be callable, got {type(load).__name__}")
        self._load = load
        self._model: M | None = None
        # Guards the load: held while _load() runs, so only one thread ever runs it.
        self._lock = threading.Lock()

    def get(self) -> M:
        """The model, loading it on the first call."""
        model = self._model
        if model is None:
            with self._lock:  # FIX: one loader at a time,
                model = self._model
                if model is None:  # FIX: and check again under the lock
                    model = self._model = self._load()
        return model


_default: LazyModel[Model] = LazyModel(load_model)


def get_model() -> Model:
    """The process-wide model, loaded on first use."""
    return _default.get()


def start_worker(target: Callable[..., object], *args: Any, name: str = "worker") -> BaseProcess:
    """Start a worker process that runs ``target(*args)``; the caller joins it.

    Concurrency: the worker is a fresh interpreter, so it creates its own session after it
    starts; nothing this process loaded (a session, its thread pool, a held lock) is copied.
    ``target`` and ``args`` must be picklable (a module-level function).
    """
    if not callable(target):
        raise TypeError(f"target must be callable, got {type(target).__name__}")
    context = multiprocessing.get_context("spawn")  # FIX: a fresh interpreter per worker,
    process = context.Process(target=target, args=args, name=name, daemon=True)  # which loads
    process.start()  # FIX: its own model: sessions are created after the process starts
    return process


def _check_timeout(timeout_s: float) -> None:
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not (
            timeout_s > 0 and math.isfinite(timeout_s)):
        raise ValueError(f"timeout_s must be a finite number > 0, got {timeout_s!r}")

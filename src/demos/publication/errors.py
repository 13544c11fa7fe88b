"""The two ways ``get()`` can fail, shared by broken.py and fixed.py so callers catch one class."""

from __future__ import annotations

__all__ = ["ModelLoadError", "ModelNotReadyError"]


class ModelNotReadyError(TimeoutError):
    """Raised by get() when the model is not ready within its timeout."""


class ModelLoadError(RuntimeError):
    """Raised by get() when loading failed; the loader's exception is its __cause__."""

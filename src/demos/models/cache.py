"""A disk cache for converted models: built once, verified on every load, never half-read.

Layout, in :func:`cache_dir`::

    <key>.onnx          the serialized model
    <key>.onnx.sha256   the hex sha256 of exactly those bytes, written after them

A file is used only if its bytes hash to what the sidecar says. Anything else (no
sidecar, a truncated or overwritten model, a sidecar from another build) means "not
cached": the model is rebuilt and both files are replaced. Each file is written to a
temporary name in the same folder and moved into place with ``os.replace``, which is
atomic, so another process never sees a partial file under the final name. Two
processes that build at once write identical bytes (the conversion is deterministic), so
whichever replace lands last is as good as the first.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CACHE_ENV_VAR", "CachedFile", "cache_dir", "load_or_build"]

#: Set this to put converted models somewhere else (tests point it at a temporary folder).
CACHE_ENV_VAR = "DEMOS_CACHE_DIR"


@dataclass(frozen=True)
class CachedFile:
    """A verified cache entry.

    Attributes:
        path: where the file lives.
        data: its bytes, already checked against the sidecar hash (load these, not
            ``path``, so nothing can change between the check and the use).
        built: True if this call had to build it (cold, corrupt or partial cache).
        sha256: hex digest of ``data``.
    """

    path: Path
    data: bytes
    built: bool
    sha256: str


def cache_dir() -> Path:
    """The cache folder: ``$DEMOS_CACHE_DIR``, else ``<user cache>/inference-pitfalls``.

    The user cache is ``$XDG_CACHE_HOME`` or ``~/.cache`` (``%LOCALAPPDATA%`` on Windows).
    The folder is not created here.
    """
    override = os.environ.get(CACHE_ENV_VAR)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or (
        os.environ.get("LOCALAPPDATA") if os.name == "nt" else None
    )
    return Path(base or Path.home() / ".cache") / "inference-pitfalls"


def load_or_build(name: str, build: Callable[[], bytes], folder: Path | None = None) -> CachedFile:
    """Return the verified bytes of ``name`` from the cache, building them if needed.

    Args:
        name: the file name, which must encode everything the bytes depend on (for
            models: the weights' hash, the dtype and the converter version).
        build: makes the bytes when the cache has no valid copy.
        folder: the cache folder; :func:`cache_dir` when omitted.

    Returns:
        A :class:`CachedFile`.

    Raises:
        ValueError: if ``name`` is not a plain file name.
        OSError: if the folder cannot be created or written.

    Concurrency: safe from several threads and processes (see the module docstring);
    blocks for one read and hash, plus one build on a miss.
    """
    if not name or Path(name).name != name:
        raise ValueError(f"name must be a plain file name, got {name!r}")
    folder = cache_dir() if folder is None else folder
    path, sidecar = folder / name, folder / f"{name}.sha256"
    cached = _read_verified(path, sidecar)
    if cached is not None:
        return cached
    data = build()
    digest = hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, data)
    _write_atomic(sidecar, f"{digest}\n".encode())  # last: it vouches for the bytes above
    return CachedFile(path, data, True, digest)


def _read_verified(path: Path, sidecar: Path) -> CachedFile | None:
    try:
        expected = sidecar.read_text(encoding="ascii").strip()
        data = path.read_bytes()
    except (OSError, UnicodeDecodeError):
        return None
    digest = hashlib.sha256(data).hexdigest()
    return CachedFile(path, data, False, digest) if digest == expected else None


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a cache may be shared read-only
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

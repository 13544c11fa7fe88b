"""Find the pitfall chapters that have landed, without a list to keep in sync.

A pitfall is a subpackage of :mod:`demos` with ``broken``, ``fixed`` and ``scenario``
modules. Its ``__init__`` may set ``CHAPTER`` (an int, for ordering) and its docstring's
first line is its title. The CLI, the tests and the book all ask this module, so a new
chapter is picked up everywhere by existing.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import Any

import demos

__all__ = ["IMPLS", "Pitfall", "UnknownPitfallError", "find", "pitfalls"]

IMPLS = ("broken", "fixed")
_PARTS = ("broken", "fixed", "scenario")


class UnknownPitfallError(LookupError):
    """Raised by find() for a name that is not a landed pitfall."""


@dataclass(frozen=True)
class Pitfall:
    """One landed chapter: its package name, and its modules loaded on demand."""

    name: str
    chapter: int
    title: str

    @cached_property
    def scenario(self) -> ModuleType:
        return importlib.import_module(f"demos.{self.name}.scenario")

    def impl(self, which: str) -> ModuleType:
        """The ``broken`` or ``fixed`` module."""
        if which not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {which!r}")
        return importlib.import_module(f"demos.{self.name}.{which}")

    def run(self, which: str, **knobs: Any) -> demos.Report:
        """``scenario.run(<broken|fixed module>, **knobs)``."""
        return self.scenario.run(self.impl(which), **knobs)


def pitfalls() -> list[Pitfall]:
    """Every landed pitfall, in chapter order."""
    found = []
    for info in pkgutil.iter_modules(demos.__path__):
        if not info.ispkg:
            continue
        name = info.name
        if not all(importlib.util.find_spec(f"demos.{name}.{part}") for part in _PARTS):
            continue
        package = importlib.import_module(f"demos.{name}")
        title = (package.__doc__ or name).strip().splitlines()[0].rstrip(".")
        found.append(Pitfall(name, int(getattr(package, "CHAPTER", 99)), title))
    return sorted(found, key=lambda p: (p.chapter, p.name))


def find(name: str) -> Pitfall:
    """The pitfall called ``name``; the error lists the valid names."""
    landed = pitfalls()
    for pitfall in landed:
        if pitfall.name == name:
            return pitfall
    valid = ", ".join(p.name for p in landed) or "none has landed yet"
    raise UnknownPitfallError(f"unknown pitfall {name!r}; expected one of: {valid}")

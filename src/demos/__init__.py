"""Demos for *Inference Pitfalls*: seven ways AI inference code goes wrong, each broken and fixed.

Every pitfall lives in its own subpackage with the same shape::

    demos/<pitfall>/__init__.py   the story, in a docstring
    demos/<pitfall>/broken.py     the pitfall, marked with ``# PITFALL:``
    demos/<pitfall>/fixed.py      the same names, the fix marked with ``# FIX:``
    demos/<pitfall>/scenario.py   run(impl, **knobs) -> Report

Shared tools: :mod:`demos.harness` (bounded waits, thread hammers), :mod:`demos.report`
(what one scenario run observed), :mod:`demos.plotting` (the book's visual language), and
:mod:`demos.models` (the running example: a real sentence-embedding model on onnxruntime).
"""

from demos.report import Report

__all__ = ["Report"]
__version__ = "0.1.0"

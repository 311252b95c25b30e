#!/usr/bin/env bash
# Build wheels of the given Tessera distributions (paths) and install them,
# not editable and without dependencies, into the environment of PYTHON.
# Wheels are built with .venv's pinned setuptools (no build isolation, offline).
# Usage: scripts/install_wheels.sh PYTHON DIST_DIR [DIST_DIR ...]
set -euo pipefail
PY=$1; shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_PY=${BUILD_PY:-$ROOT/.venv/bin/python}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for dist in "$@"; do
    "$BUILD_PY" -m pip wheel --quiet --no-deps --no-build-isolation -w "$out" "$ROOT/$dist" 2> >(grep -v "^WARNING: Location" >&2)
done
"$PY" -m pip install --quiet --no-deps --force-reinstall "$out"/*.whl 2> >(grep -v "^WARNING: Location" >&2)
echo "[install_wheels] installed: $(cd "$out" && ls *.whl | tr '\n' ' ')"

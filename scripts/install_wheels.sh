#!/usr/bin/env bash
# Install wheels of the given Tessera distributions (paths), not editable and without
# dependencies, into the environment of PYTHON.
# With TESSERA_WHEELHOUSE set (scripts/run_tests.sh builds every wheel there once, before tox
# starts environments in parallel), the wheels are taken from it; otherwise they are built here
# with .venv's pinned setuptools (no build isolation, offline).
# Usage: scripts/install_wheels.sh PYTHON DIST_DIR [DIST_DIR ...]
set -euo pipefail
PY=$1; shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_PY=${BUILD_PY:-$ROOT/.venv/bin/python}
wheels=()
if [ -n "${TESSERA_WHEELHOUSE:-}" ]; then
    for dist in "$@"; do
        found=("$TESSERA_WHEELHOUSE/${dist//\//_}"/*.whl)
        [ -f "${found[0]}" ] || { echo "[install_wheels] no wheel of $dist in $TESSERA_WHEELHOUSE" >&2; exit 1; }
        wheels+=("${found[@]}")
    done
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    for dist in "$@"; do
        "$BUILD_PY" -m pip wheel --quiet --no-deps --no-build-isolation -w "$out" "$ROOT/$dist" 2> >(grep -v "^WARNING: Location" >&2)
    done
    wheels=("$out"/*.whl)
fi
"$PY" -m pip install --quiet --no-deps --force-reinstall "${wheels[@]}" 2> >(grep -v "^WARNING: Location" >&2)
echo "[install_wheels] installed: $(for w in "${wheels[@]}"; do basename "$w"; done | tr '\n' ' ')"

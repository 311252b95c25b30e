#!/usr/bin/env bash
# Build (once) and install mmcv 2.1.0 with compiled CPU ops into the venv of PYTHON.
#
# The work is done by tessera-core's `tessera-build-mmcv` (shared/tessera_core/tools/build_mmcv.py,
# standard library only): it unpacks mmcv's sdist, switches its -std=c++14/17 flags to -std=c++20
# (torch >= 2.10 headers need C++20, see shared/STACK.md), builds a wheel without build isolation
# against the installed torch, caches it in ~/.cache/tessera/wheels/mmcv-<mmcv>-torch<torch>-<cpXY>/
# and installs it. Run here by path, so it works before tessera-core is installed.
#
# Usage: scripts/build_mmcv.sh PYTHON [tessera-build-mmcv options]   (PYTHON = the venv's interpreter)
set -euo pipefail
PY=${1:?usage: build_mmcv.sh PYTHON [options]}; shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# pip's "Location ... is ignored" noise of this machine's config is dropped; exit status kept
"$PY" "$ROOT/shared/tessera_core/tools/build_mmcv.py" "$@" 2> >(grep -v "^WARNING: Location" >&2)

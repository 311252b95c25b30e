#!/usr/bin/env bash
# Build (once) and install mmcv 2.1.0 with compiled CPU ops into the active venv.
#
# mmcv 2.1.0 ships only as an sdist whose setup.py forces -std=c++14/17, while
# the ATen headers of torch >= 2.10 require C++20 (see shared/STACK.md).  We
# unpack the sdist, switch those flags to -std=c++20, build a wheel without
# build isolation (it needs the installed torch) and cache it outside the repo,
# keyed by mmcv / torch / python version, so later installs take seconds.
#
# Usage: scripts/build_mmcv.sh PYTHON        (PYTHON = the venv's interpreter)
set -euo pipefail
PY=${1:?usage: build_mmcv.sh PYTHON}
PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")"   # absolute, venv-preserving
MMCV_VERSION=${MMCV_VERSION:-2.1.0}
TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
PY_TAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
CACHE_ROOT=${TESSERA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera}
WHEEL_DIR="$CACHE_ROOT/wheels/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$PY_TAG"

if "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
    echo "[mmcv] $MMCV_VERSION with ops already installed"
    exit 0
fi

wheel=$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
    echo "[mmcv] no cached wheel in $WHEEL_DIR: building mmcv $MMCV_VERSION from source"
    echo "[mmcv] (compiles the CPU ops: about 13 minutes on 2 cores, progress every 30 s)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    "$PY" -m pip download --quiet --no-deps --no-build-isolation \
        --no-binary mmcv "mmcv==$MMCV_VERSION" -d "$work"
    tar -xzf "$work/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
    src="$work/mmcv-$MMCV_VERSION"
    sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$src/setup.py"
    grep -q -- '-std=c++20' "$src/setup.py" || { echo "[mmcv] could not patch $src/setup.py" >&2; exit 1; }
    log="$work/build.log"
    total_objs=$(find "$src/mmcv/ops/csrc/pytorch" -maxdepth 2 -name '*.cpp' | wc -l)
    start=$(date +%s)
    ( cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$PY" -m pip wheel --no-build-isolation --no-deps -w "$work/dist" . ) >"$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 30
        kill -0 "$pid" 2>/dev/null || break
        done_objs=$(find "$src/build" -name '*.o' 2>/dev/null | wc -l)
        echo "[mmcv] building... $(( $(date +%s) - start )) s elapsed, $done_objs of ~$total_objs objects compiled"
    done
    if ! wait "$pid"; then
        echo "[mmcv] build failed; last lines of $log:" >&2
        tail -n 40 "$log" >&2
        exit 1
    fi
    mkdir -p "$WHEEL_DIR"
    cp "$work"/dist/mmcv-*.whl "$WHEEL_DIR/"
    wheel=$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)
    echo "[mmcv] built in $(( $(date +%s) - start ))s, cached as $wheel"
fi
"$PY" -m pip install --quiet "$wheel" 2> >(grep -v "^WARNING: Location" >&2)   # with its deps (mmengine, opencv, ...)
"$PY" -c "import mmcv.ops; print('[mmcv]', mmcv.__version__, 'with compiled ops installed')"

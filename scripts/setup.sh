#!/usr/bin/env bash
# Create .venv with the pinned modern OpenMMLab stack and every Tessera package.
#
#   torch 2.14.1 + torchvision 0.29.1, the full mmcv 2.1.0 (built once with CPU ops
#   and cached by tessera-core's tessera-build-mmcv, see build_mmcv.sh; users of the
#   six non-detection packages need only mmcv-lite), mmengine 0.10.7, mmdet 3.3.0, openmim 0.3.9,
#   test tools, and the Tessera packages as editable installs that `mim` can find.
#
# Idempotent: a stamp file keyed by this script and every pyproject.toml makes
# a second run a no-op. Prints the time each stage took.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
# pip install, quiet, without this machine's "Location ... is ignored" noise, keeping pip's exit status
pip_install() { "${PIP[@]}" install --quiet "$@" 2> >(grep -v "^WARNING: Location" >&2); }
TASKS=(detection reid video nas compression generative multimodal)

stamp_key=$(cat scripts/setup.sh scripts/build_mmcv.sh shared/tessera_core/tools/build_mmcv.py scripts/requirements-*.txt \
    shared/pyproject.toml packages/*/pyproject.toml | sha256sum | cut -c1-16)
STAMP="$VENV/.tessera-setup-$stamp_key"
if [ -f "$STAMP" ]; then
    echo "[setup] $VENV is up to date"
    exit 0
fi

t0=$(date +%s); last=$t0
stage() {  # stage NAME: report the time of the previous stage, announce the next
    local now; now=$(date +%s)
    [ -n "${STAGE:-}" ] && echo "[setup] done: $STAGE ($((now - last)) s)"
    STAGE=$1; last=$now
    [ -n "$STAGE" ] && echo "[setup] stage: $STAGE"
    return 0
}

stage "virtual environment"
if [ ! -x "$PY" ]; then
    "$PYTHON" -m venv "$VENV"
fi
pip_install --upgrade pip

stage "torch 2.14.1 + torchvision 0.29.1"
if ! "$PY" -c "import torch, torchvision, sys; sys.exit(not (torch.__version__.startswith('2.14.1') and torchvision.__version__.startswith('0.29.1')))" 2>/dev/null; then
    pip_install torch==2.14.1 torchvision==0.29.1
fi
pip_install -r scripts/requirements-build.txt

stage "mmengine 0.10.7"
pip_install mmengine==0.10.7

stage "mmcv 2.1.0 with CPU ops"
bash scripts/build_mmcv.sh "$PY"

stage "mmdet, openmim, data packages and test tools"
pip_install -r scripts/requirements-stack.txt
# openmim's only unneeded dependency, opendatalab, pulls openxlab, which downgrades
# setuptools to 60.2 and pins old requests: install mim without it.
pip_install --no-deps openmim==0.3.9
pip_install -r scripts/requirements-dev.txt

stage "Tessera packages (editable)"
args=(-e "shared[data]")
for t in "${TASKS[@]}"; do args+=(-e "packages/$t"); done
pip_install --no-deps --no-build-isolation "${args[@]}"
"$PY" scripts/link_editable.py

stage "Fashion-MNIST (optional, Debian package)"
if [ -d /usr/share/datasets/fashion-mnist ]; then
    echo "[setup] Fashion-MNIST present in /usr/share/datasets/fashion-mnist"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) \
        >/dev/null 2>&1 || echo "[setup] could not install dataset-fashion-mnist: Fashion-MNIST configs will name the missing files (embedded-data configs are unaffected)"
else
    echo "[setup] no root apt: Fashion-MNIST configs need data_root (sudo apt-get install dataset-fashion-mnist)"
fi

stage "real video (optional, Debian package)"
if [ -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ]; then
    echo "[setup] opencv-doc sample videos present in /usr/share/doc/opencv-doc/examples/data"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq opencv-doc) \
        >/dev/null 2>&1 || echo "[setup] could not install opencv-doc: real-video reader tests will skip (the embedded data is unaffected)"
else
    echo "[setup] no root apt: real-video tests skip (sudo apt-get install opencv-doc)"
fi

stage "real image-caption stamps (optional, Debian package)"
if [ -d /usr/share/tuxpaint/stamps ]; then
    echo "[setup] tuxpaint stamps present in /usr/share/tuxpaint/stamps"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tuxpaint-stamps-default) \
        >/dev/null 2>&1 || echo "[setup] could not install tuxpaint-stamps-default: stamp-caption tests will skip (the captioned digits are unaffected)"
else
    echo "[setup] no root apt: stamp-caption tests skip (sudo apt-get install tuxpaint-stamps-default)"
fi

stage "check"
"$PY" - <<'PY'
import mmcv, mmcv.ops, mmdet, mmengine, torch
import tessera_core
print(f'[setup] torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__}, '
      f'mmdet {mmdet.__version__}, tessera-core {tessera_core.__version__}')
PY
stage ""
rm -f "$VENV"/.tessera-setup-*
touch "$STAMP"
echo "[setup] ready in $(( $(date +%s) - t0 )) s: $VENV"

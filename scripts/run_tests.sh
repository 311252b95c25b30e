#!/usr/bin/env bash
# The whole suite: every tox environment (lint, each package alone, integration).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(pwd)/.venv/bin:$PATH"
start=$(date +%s)
tox run -e "${TOX_ENVS:-lint,core,detection,reid,video,nas,compression,generative,multimodal,integration}" "$@"
echo "[test] all environments finished in $(( $(date +%s) - start )) s"

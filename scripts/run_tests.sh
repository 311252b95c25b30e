#!/usr/bin/env bash
# The whole suite: every tox environment (lint, each package alone, integration).
# Every Tessera wheel is built once into .tox/wheelhouse first; the environments then run
# TOX_PARALLEL at a time (default 2, one per core of the CI machine, each pytest single-threaded so
# two environments do not oversubscribe the cores; TOX_PARALLEL=0 runs them one after another with
# torch's default threads). tox prints each environment's time at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(pwd)/.venv/bin:$PATH"
start=$(date +%s)
export TESSERA_WHEELHOUSE="$(pwd)/.tox/wheelhouse"
rm -rf "$TESSERA_WHEELHOUSE"
for dist in shared packages/*/; do
    dist=${dist%/}
    python -m pip wheel --quiet --no-deps --no-build-isolation -w "$TESSERA_WHEELHOUSE/${dist//\//_}" "./$dist" \
        2> >(grep -v "^WARNING: Location" >&2)
done
echo "[test] wheels built in $(( $(date +%s) - start )) s: $(cd "$TESSERA_WHEELHOUSE" && ls */*.whl | xargs -n1 basename | tr '\n' ' ')"
# longest environments first, so that the two lanes finish together
envs=${TOX_ENVS:-core,integration,nas,compression,reid,detection,video,generative,multimodal,lint}
parallel=${TOX_PARALLEL:-2}
if [ "$parallel" -gt 1 ]; then
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
    tox run-parallel -p "$parallel" --parallel-no-spinner -e "$envs" "$@"
else
    tox run -e "$envs" "$@"
fi
echo "[test] all environments finished in $(( $(date +%s) - start )) s"

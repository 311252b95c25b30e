#!/usr/bin/env bash
# Train and evaluate the core demo model through mim on the embedded digits.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(pwd)/.venv/bin:$PATH" MPLBACKEND=Agg
CONFIG=demo/resnet18-w16_embedded-digits.py
WORK=work_dirs/demo
rm -rf "$WORK"
start=$(date +%s)
mim train tessera-core "$CONFIG" --work-dir "$WORK"
ckpt=$(cat "$WORK/last_checkpoint")
mim test tessera-core "$CONFIG" --checkpoint "$ckpt" --work-dir "$WORK" --out "$WORK/test_metrics.json"
python - "$WORK" <<'PY'
import json, sys
m = json.load(open(f'{sys.argv[1]}/test_metrics.json'))
print(f"\n[demo] test accuracy on the 1,000 held-out real MNIST digits: top-1 {m['accuracy/top1']:.2f}%, "
      f"top-5 {m['accuracy/top5']:.2f}%")
print(f"[demo] sample predictions: {sys.argv[1]}/predictions.png")
PY
echo "[demo] finished in $(( $(date +%s) - start )) s"

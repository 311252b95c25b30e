"""The LSQ W4A4 config end to end through mim: train a few iterations, then test the checkpoint."""
import json
import re

from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

CONFIG = 'lsq-w4a4_resnet18-w16_embedded-digits.py'
# One epoch of a 256-image subset (4 iterations), evaluated on 200 held-out digits.
SMALL = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=256',
         'val_dataloader.dataset.indices=200', 'test_dataloader.dataset.indices=200']


def test_train_then_test_through_mim(tmp_path):
    work = tmp_path / 'work'
    out = run_mim(['train', 'tessera-compression', CONFIG, '--work-dir', str(work), '--cfg-options', *SMALL]).stdout
    assert re.search(r'accuracy/top1: [\d.]+', out)
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    state = safe_load(str(ckpt), map_location='cpu')['state_dict']  # the allowlisted loader reads it
    steps = {k: v for k, v in state.items() if k.endswith('step_size')}
    assert len(steps) == 2 * 19  # weight + activation step of the 19 quantized convs
    assert all(bool(state[k.replace('step_size', 'initialized')]) for k in steps)
    assert 'backbone.stem.0.weight' in state and 'backbone.stem.0.weight_quantizer.step_size' not in state

    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-compression', CONFIG, '--checkpoint', str(ckpt), '--work-dir', str(tmp_path / 'test'),
             '--out', str(metrics_file), '--cfg-options', *SMALL])
    metrics = json.loads(metrics_file.read_text())
    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}
    assert 0 <= metrics['accuracy/top1'] <= 100 and metrics['accuracy/top5'] >= metrics['accuracy/top1']

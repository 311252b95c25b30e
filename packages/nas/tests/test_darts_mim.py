"""The DARTS-V2 digits config end to end through mim: train a few iterations, then test the checkpoint."""
import json
import re

from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

CONFIG = 'darts-v2_c16-l8_embedded-digits.py'
# The config's network at 4 initial channels and 5 cells (auxiliary head and drop path kept),
# one epoch of a 64-image subset (2 iterations of 32), evaluated on 100 held-out digits.
SMALL = ['model.backbone.init_channels=4', 'model.backbone.layers=5', 'train_cfg.max_epochs=1',
         'train_cfg.val_interval=1', 'train_dataloader.batch_size=32', 'train_dataloader.dataset.indices=64',
         'val_dataloader.dataset.indices=100', 'test_dataloader.dataset.indices=100']


def test_train_then_test_through_mim(tmp_path):
    work = tmp_path / 'work'
    out = run_mim(['train', 'tessera-nas', CONFIG, '--work-dir', str(work), '--cfg-options', *SMALL]).stdout
    assert re.search(r'accuracy/top1: [\d.]+', out)
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    state = safe_load(str(ckpt), map_location='cpu')['state_dict']  # the allowlisted loader reads it
    assert any(k.startswith('backbone.auxiliary_head.') for k in state)
    assert 'backbone.cells.4._ops.7.op.1.weight' in state  # cell 4, edge 7: dil_conv_3x3 of DARTS_V2

    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-nas', CONFIG, '--checkpoint', str(ckpt), '--work-dir', str(tmp_path / 'test'),
             '--out', str(metrics_file), '--cfg-options', *SMALL])
    metrics = json.loads(metrics_file.read_text())
    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}
    assert 0 <= metrics['accuracy/top1'] <= 100 and metrics['accuracy/top5'] >= metrics['accuracy/top1']

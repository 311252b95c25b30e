"""End to end through mim: train the default config for one short epoch, then test its checkpoint."""
import json

import pytest

from tessera_core.testing import run_mim

CONFIG = 'bnneck/bnneck_resnet18-w16_embedded-digits.py'


@pytest.mark.slow
def test_mim_train_then_test(tmp_path):
    # 32 train images per identity (160, PK batches of 4 x 8: at most 5 iterations) and 30 test images per
    # identity (12 queries + 18 gallery each).
    small = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.max_per_id=32',
             'val_dataloader.dataset.max_per_id=30', 'test_dataloader.dataset.max_per_id=30',
             'default_hooks.checkpoint.interval=1']
    train = run_mim(['train', 'tessera-reid', CONFIG, '--work-dir', str(tmp_path), '--cfg-options', *small],
                    env=dict(OMP_NUM_THREADS='1'))
    assert 'loss_triplet' in train.stdout and 'reid/rank1' in train.stdout
    ckpt = tmp_path / 'epoch_1.pth'
    assert ckpt.is_file()
    out = tmp_path / 'metrics.json'
    test = run_mim(['test', 'tessera-reid', CONFIG, '--checkpoint', str(ckpt), '--work-dir', str(tmp_path / 'test'),
                    '--out', str(out), '--cfg-options', *small], env=dict(OMP_NUM_THREADS='1'))
    assert 'reid/mAP' in test.stdout
    metrics = json.loads(out.read_text())
    assert set(metrics) == {'reid/rank1', 'reid/rank5', 'reid/mAP'}
    assert all(0 <= v <= 100 for v in metrics.values())
    assert metrics['reid/rank5'] >= metrics['reid/rank1']

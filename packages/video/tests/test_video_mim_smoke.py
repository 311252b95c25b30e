"""End to end through mim: train the TSM config for a few iterations, then test its checkpoint."""
import json

import pytest

from tessera_core.testing import run_mim


@pytest.mark.slow
@pytest.mark.parametrize('config', ['tsm/tsm_resnet18-w16_moving-digits.py'])
def test_mim_train_then_test(tmp_path, config):
    # 64 train clips (4 iterations of 16) and 50 test clips
    small = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=64',
             'val_dataloader.dataset.indices=50', 'test_dataloader.dataset.indices=50',
             'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1']
    train = run_mim(['train', 'tessera-video', config, '--work-dir', str(tmp_path), '--cfg-options', *small],
                    env=dict(OMP_NUM_THREADS='1'))
    assert 'accuracy/top1' in train.stdout and 'grad_norm' in train.stdout
    ckpt = tmp_path / 'epoch_1.pth'
    assert ckpt.is_file()
    out = tmp_path / 'metrics.json'
    test = run_mim(['test', 'tessera-video', config, '--checkpoint', str(ckpt), '--work-dir', str(tmp_path / 'test'),
                    '--out', str(out), '--cfg-options', *small], env=dict(OMP_NUM_THREADS='1'))
    assert 'accuracy/top1' in test.stdout
    metrics = json.loads(out.read_text())
    assert set(metrics) == {'accuracy/top1'} and 0 <= metrics['accuracy/top1'] <= 100

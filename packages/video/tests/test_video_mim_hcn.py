"""End to end through mim: train the HCN synthetic-skeleton config for 1 iteration, then test its checkpoint."""
import json
from pathlib import Path

import pytest

import tessera_video
from tessera_core.testing import run_mim

CONFIG = Path(tessera_video.__file__).parent / 'configs' / 'hcn' / 'hcn_synthetic-skeletons-xsub.py'


@pytest.mark.slow
def test_mim_train_then_test_hcn(tmp_path):
    # 16 train sequences (1 iteration) and 8 test sequences
    small = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=16',
             'val_dataloader.dataset.indices=8', 'test_dataloader.dataset.indices=8',
             'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1']
    train = run_mim(['train', 'tessera-video', str(CONFIG), '--work-dir', str(tmp_path), '--cfg-options', *small],
                    env=dict(OMP_NUM_THREADS='1'))
    assert 'accuracy/top1' in train.stdout and 'loss' in train.stdout
    ckpt = tmp_path / 'epoch_1.pth'
    assert ckpt.is_file()
    out = tmp_path / 'metrics.json'
    test = run_mim(['test', 'tessera-video', str(CONFIG), '--checkpoint', str(ckpt), '--work-dir',
                    str(tmp_path / 'test'), '--out', str(out), '--cfg-options', *small], env=dict(OMP_NUM_THREADS='1'))
    assert 'accuracy/top1' in test.stdout
    metrics = json.loads(out.read_text())
    assert set(metrics) == {'accuracy/top1'} and 0 <= metrics['accuracy/top1'] <= 100

"""The issue-3 Fashion-MNIST configs train and test through mim (a 256-image subset, 1 epoch).

The full runs (5 epochs on 60,000 images) and their numbers are in each config's README.
"""
import json
import os
import re

import pytest

from tessera_core.testing import run_mim

FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
TINY = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=256',
        'train_dataloader.batch_size=32', 'val_dataloader.dataset.indices=100',
        'test_dataloader.dataset.indices=100', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False']


@pytest.fixture(autouse=True)
def _needs_fashion_mnist():
    if not os.path.isdir(FASHION_MNIST):
        pytest.fail(f'{FASHION_MNIST} is missing: install Debian\'s dataset-fashion-mnist (scripts/setup.sh does)')


@pytest.mark.slow
@pytest.mark.parametrize('config', ['ghostnet/ghostnet-1.0x_fashion-mnist.py',
                                    'micronet/micronet-m1_fashion-mnist.py',
                                    'dcd/dcd-resnet18_fashion-mnist.py'])
def test_config_trains_and_tests_through_mim(config, tmp_path):
    out = run_mim(['train', 'tessera-core', config, '--work-dir', str(tmp_path), '--cfg-options', *TINY]).stdout
    assert re.search(r'Epoch\(val\) \[1\]\[\d+/\d+\]\s+accuracy/top1: [\d.]+', out)
    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-core', config, '--checkpoint', str(tmp_path / 'epoch_1.pth'), '--work-dir',
             str(tmp_path), '--out', str(metrics_file), '--cfg-options', *TINY])
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0 and metrics['accuracy/top5'] >= metrics['accuracy/top1']

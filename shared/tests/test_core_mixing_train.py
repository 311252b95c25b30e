"""The mixing configs train and test through mim (Fashion-MNIST, a 128-image subset, 1 epoch).

The measured runs (4 epochs on 4,000 images) and their numbers are in configs/mixing/README.md.
"""
import json
import os
import re

import pytest

from tessera_core.testing import run_mim

FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
TINY = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=128',
        'train_dataloader.batch_size=32', 'val_dataloader.dataset.indices=100',
        'test_dataloader.dataset.indices=100', 'default_hooks.logger.interval=1']


@pytest.fixture(autouse=True)
def _needs_fashion_mnist():
    if not os.path.isdir(FASHION_MNIST):
        pytest.fail(f'{FASHION_MNIST} is missing: install Debian\'s dataset-fashion-mnist (scripts/setup.sh does)')


@pytest.mark.slow
def test_automix_config_trains_and_tests_through_mim(tmp_path):
    config = 'mixing/resnet18-w16_automix_fashion-mnist-4k.py'
    out = run_mim(['train', 'tessera-core', config, '--work-dir', str(tmp_path), '--cfg-options', *TINY]).stdout
    for key in ('loss_mix_q', 'loss_mix_k', 'loss_mask', 'loss_one_q', 'mask_mean', 'mask_std'):
        assert re.search(rf'{key}: [\d.]+', out), key
    momenta = [float(m) for m in re.findall(r'momentum: ([\d.]+)', out)]
    assert momenta[0] == pytest.approx(0.99) and momenta[-1] > momenta[0]  # the cosine schedule acted
    assert re.search(r'Epoch\(val\) \[1\]\[\d+/\d+\]\s+accuracy/top1: [\d.]+', out)
    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-core', config, '--checkpoint', str(tmp_path / 'epoch_1.pth'), '--work-dir',
             str(tmp_path), '--out', str(metrics_file), '--cfg-options', *TINY, 'model.predict_encoder=q'])
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0


@pytest.mark.slow
@pytest.mark.parametrize('method', ['mixup', 'cutmix'])
def test_batch_augment_configs_train_through_mim(method, tmp_path):
    config = f'mixing/resnet18-w16_{method}_fashion-mnist-4k.py'
    out = run_mim(['train', 'tessera-core', config, '--work-dir', str(tmp_path), '--cfg-options', *TINY]).stdout
    assert 'accuracy_top-1' not in out  # soft labels: the head logs no training accuracy
    assert re.search(r'Epoch\(val\) \[1\]\[\d+/\d+\]\s+accuracy/top1: [\d.]+', out)

"""The mixing configs: each setting's four configs share one recipe, and they train and test through mim
(Fashion-MNIST, a 128-image subset, 1 epoch).

The measured runs (4 epochs on 4,000 images; 40 epochs on 1,000 images) and their numbers are in
configs/mixing/README.md.
"""
import json
import math
import os
import re

import pytest
from mmengine.config import Config

import tessera_core
from tessera_core.testing import run_mim

FASHION_MNIST = '/usr/share/datasets/fashion-mnist'
TINY = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=128',
        'train_dataloader.batch_size=32', 'val_dataloader.dataset.indices=100',
        'test_dataloader.dataset.indices=100', 'default_hooks.logger.interval=1']
CONFIG_DIR = os.path.join(os.path.dirname(tessera_core.__file__), 'configs', 'mixing')
METHODS = ('none', 'mixup', 'cutmix', 'automix')
SETTINGS = {'4k': 4000, '1k': 1000}  # config suffix: training images
RECIPE_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator', 'train_cfg', 'val_cfg',
               'test_cfg', 'optim_wrapper', 'param_scheduler', 'default_hooks', 'log_processor', 'randomness')


@pytest.fixture(autouse=True)
def _needs_fashion_mnist():
    if not os.path.isdir(FASHION_MNIST):
        pytest.fail(f'{FASHION_MNIST} is missing: install Debian\'s dataset-fashion-mnist (scripts/setup.sh does)')


def _config(method, setting):
    return Config.fromfile(os.path.join(CONFIG_DIR, f'resnet18-w16_{method}_fashion-mnist-{setting}.py'))


def _warmup_iters(cfg):
    warmup, cosine = cfg.param_scheduler
    assert warmup['type'] == 'LinearLR' and cosine['type'] == 'CosineAnnealingLR'
    assert cosine['begin'] == warmup['end'] and cosine['end'] == cfg.train_cfg.max_epochs
    assert cosine['T_max'] == cosine['end'] - cosine['begin']
    iters_per_epoch = math.ceil(cfg.train_dataloader.dataset.indices / cfg.train_dataloader.batch_size)
    return warmup['end'] * iters_per_epoch


@pytest.mark.parametrize('setting', sorted(SETTINGS))
def test_the_four_configs_of_a_setting_share_one_recipe(setting):
    cfgs = {m: _config(m, setting) for m in METHODS}
    for m in METHODS[1:]:
        for key in RECIPE_KEYS:
            assert cfgs[m][key] == cfgs['none'][key], (setting, m, key)
        assert cfgs[m].model.head == cfgs['none'].model.head
        backbone = dict(cfgs[m].model.backbone, out_indices=cfgs['none'].model.backbone.out_indices)
        assert backbone == cfgs['none'].model.backbone  # AutoMix only adds the Mix Block's stage
    assert cfgs['none'].train_dataloader.dataset.indices == SETTINGS[setting]
    assert cfgs['none'].train_cfg.val_interval == cfgs['none'].train_cfg.max_epochs  # validated once, at the end
    assert cfgs['none'].randomness.seed == 0


@pytest.mark.parametrize('method', METHODS)
def test_a_1k_config_is_its_4k_method_in_the_overfitting_setting(method):
    small, big = _config(method, '1k'), _config(method, '4k')
    assert small.model == big.model and small.get('custom_hooks') == big.get('custom_hooks')
    assert small.optim_wrapper == big.optim_wrapper
    assert small.train_dataloader.dataset.indices == 1000 and small.train_cfg.max_epochs == 40
    assert abs(_warmup_iters(small) - _warmup_iters(big)) <= 1  # 4 x 16 = 64 vs 1 x 63 iterations


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

"""AdamBNN two-step configs: the recipe they encode, and step 1 -> step 2 -> test end to end through mim."""
import json
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

import tessera_compression
from tessera_compression.models.binary import BinaryConv2d
from tessera_compression.registry import MODELS

CONFIGS = osp.join(osp.dirname(tessera_compression.__file__), 'configs')
STEP1 = 'adambnn-step1_reactnet-a-w025_{}_fashion-mnist.py'
STEP2 = 'adambnn-step2_reactnet-a-w025_{}_fashion-mnist.py'
ONE_STEP = osp.join(CONFIGS, 'reactnet', 'reactnet-a-w025_fashion-mnist.py')


def _load(name):
    return Config.fromfile(osp.join(CONFIGS, 'adambnn', name))


def _decays(cfg):
    """weight decay of every parameter of the config's model, by parameter name."""
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    names = {id(p): n for n, p in model.named_parameters()}
    decays = {names[id(p)]: group['weight_decay'] for group in wrapper.optimizer.param_groups for p in group['params']}
    assert len(decays) == len(names)
    return model, wrapper.optimizer, decays


def _kind(name):
    if name.endswith('.slope'):
        return 'slope'
    if name.startswith('head.') or re.search(r'\.bn\d?\.|stem\.1\.', name):
        return 'no-decay'
    return 'decay'  # conv weights, RSign thresholds, RPReLU shifts (the official 4-D parameters)


@pytest.mark.parametrize('optimizer', ['adam', 'sgd'])
def test_two_step_recipe(optimizer):
    step1, step2 = _load(STEP1.format(optimizer)), _load(STEP2.format(optimizer))
    for cfg, weight_bits, wd in ((step1, 32, 5e-6), (step2, 1, 0.0)):
        model, opt, decays = _decays(cfg)
        convs = [m for m in model.modules() if isinstance(m, BinaryConv2d)]
        assert len(convs) == 26 and all((m.weight_bits, m.act_bits) == (weight_bits, 1) for m in convs)
        assert type(opt).__name__ == {'adam': 'Adam', 'sgd': 'SGD'}[optimizer]
        assert opt.defaults['lr'] == {'adam': 1.25e-3, 'sgd': 0.03}[optimizer]
        if optimizer == 'adam':
            assert opt.defaults['betas'] == (0.9, 0.999)
        else:
            assert opt.defaults['momentum'] == 0.9
        for name, decay in decays.items():
            assert decay == (wd if _kind(name) == 'decay' else 0.0), name
        assert {_kind(n) for n in decays} == {'decay', 'no-decay', 'slope'}
        sched, = cfg.param_scheduler
        assert (sched['type'], sched['start_factor'], sched['end_factor'], sched['end']) == (
            'LinearLR', 1.0, 0.0, cfg.train_cfg.max_epochs)
    # step 2 starts from step 1's last checkpoint in step 1's default work dir
    assert step2.load_from == f'work_dirs/{STEP1.format(optimizer)[:-3]}/epoch_{step1.train_cfg.max_epochs}.pth'
    assert step1.load_from is None
    one_step = Config.fromfile(ONE_STEP)  # the one-step baseline trains as many epochs as both steps
    assert one_step.train_cfg.max_epochs == step1.train_cfg.max_epochs + step2.train_cfg.max_epochs


# A 256-image subset of Fashion-MNIST in batches of 64 (4 iterations per epoch), 200 test images.
SMALL = ['train_dataloader.batch_size=64', 'train_dataloader.dataset.indices=256', 'train_cfg.max_epochs=1',
         'val_dataloader.dataset.indices=200', 'test_dataloader.dataset.indices=200']


@pytest.mark.slow
def test_step1_then_step2_then_test_through_mim(tmp_path):
    s1, s2 = tmp_path / 's1', tmp_path / 's2'
    run_mim(['train', 'tessera-compression', STEP1.format('adam'), '--work-dir', str(s1), '--cfg-options', *SMALL,
             'train_cfg.val_interval=2'])
    ckpt1 = s1 / 'epoch_1.pth'
    out = run_mim(['train', 'tessera-compression', STEP2.format('adam'), '--work-dir', str(s2), '--cfg-options',
                   *SMALL, 'train_cfg.val_interval=1', f'load_from={ckpt1}']).stdout
    assert f'Load checkpoint from {ckpt1}' in out
    assert 'do not match exactly' not in out  # every tensor of step 1 found its place in step 2
    assert re.search(r'accuracy/top1: [\d.]+', out)
    ckpt2 = s2 / 'epoch_1.pth'
    state1 = safe_load(str(ckpt1), map_location='cpu')['state_dict']
    state2 = safe_load(str(ckpt2), map_location='cpu')['state_dict']
    assert state1.keys() == state2.keys()
    # 4 Adam steps at lr <= 1.25e-3 move a weight by at most ~5e-3: step 2 continued from step 1's weights
    name = 'backbone.stages.2.0.conv3x3.weight'
    assert 0 < (state2[name] - state1[name]).abs().max() < 1e-2

    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-compression', STEP2.format('adam'), '--checkpoint', str(ckpt2), '--work-dir',
             str(tmp_path / 'test'), '--out', str(metrics_file), '--cfg-options', *SMALL])
    metrics = json.loads(metrics_file.read_text())
    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}
    assert 0 <= metrics['accuracy/top1'] <= metrics['accuracy/top5'] <= 100
    assert torch.isfinite(torch.tensor(list(metrics.values()))).all()

"""SEED and BINGO end to end through mim on the embedded digits: distil from a MoCo v2 teacher
checkpoint for a few iterations, then linear-probe (train + test) the student's backbone."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

import tessera_compression
from tessera_compression.registry import MODELS
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import randomise_batchnorms, run_mim


def _teacher(tmp_path) -> str:
    cfg = Config.fromfile(osp.join(osp.dirname(tessera_compression.__file__), 'configs', 'mocov2',
                                   'mocov2_resnet18-w16_embedded-digits.py'))
    torch.manual_seed(0)
    teacher = MODELS.build(cfg.model)
    teacher.init_weights()
    randomise_batchnorms(teacher, 1)
    path = tmp_path / 'teacher.pth'
    torch.save(dict(meta=dict(), state_dict=teacher.state_dict()), path)
    return str(path)


def _distil_then_probe(tmp_path, config: str, extra=()):
    work = tmp_path / 'distil'
    out = run_mim(['train', 'tessera-compression', config, '--work-dir', str(work), '--cfg-options',
                   f'model.teacher_ckpt={_teacher(tmp_path)}', 'train_cfg.max_epochs=1', 'train_dataloader.batch_size=32',
                   'default_hooks.logger.interval=1', *extra]).stdout
    state = safe_load(str(work / 'epoch_1.pth'), map_location='cpu')['state_dict']
    assert not any(k.startswith('teacher.') for k in state)
    probe = run_mim(['train', 'tessera-compression', 'linear-probe_resnet18-w16_embedded-digits.py', '--work-dir',
                     str(tmp_path / 'probe'), '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                     'train_dataloader.dataset.indices=64', 'val_dataloader.dataset.indices=100',
                     'model.backbone.base_channels=8', 'model.head.in_channels=64',
                     f'model.backbone.init_cfg.checkpoint={work / "epoch_1.pth"}',
                     'model.backbone.init_cfg.prefix=student.backbone.']).stdout
    assert re.search(r'accuracy/top1: [\d.]+', probe)
    return out, state


@pytest.mark.slow
def test_seed_through_mim(tmp_path):
    out, state = _distil_then_probe(tmp_path, 'seed_resnet18-w16-to-w8_embedded-digits.py',
                                    ['train_dataloader.dataset.indices=64'])
    assert re.search(r'distill\.loss_seed: [\d.]+', out)
    assert int(state['queue.ptr']) == 64 and state['queue.queue'].shape == (1024, 128)


@pytest.mark.slow
def test_bingo_through_mim(tmp_path):
    out, state = _distil_then_probe(tmp_path, 'bingo_resnet18-w16-to-w8_embedded-digits.py',
                                    ['train_dataloader.dataset.dataset.indices=64', 'model.warmup_epochs=0'])
    assert re.search(r'BINGO bags: 5 teacher nearest neighbours for each of 64 training images', out)
    assert re.search(r'distill\.loss_bingo: [\d.]+', out) and re.search(r'bag_mate_weight: 0\.5', out)
    assert int(state['queue.ptr']) == 64

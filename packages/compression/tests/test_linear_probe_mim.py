"""Linear-probe config end to end through mim, from a MoCo v2 checkpoint: the backbone in the trained
checkpoint is the pretrained one, bit for bit (weights and BN statistics)."""
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

import tessera_compression
from tessera_compression.registry import MODELS
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim


@pytest.mark.slow
def test_linear_probe_through_mim(tmp_path):
    moco = MODELS.build(Config.fromfile(osp.join(osp.dirname(tessera_compression.__file__), 'configs', 'mocov2',
                                                 'mocov2_resnet18-w16_embedded-digits.py')).model)
    moco.init_weights()
    pretrained = tmp_path / 'moco.pth'
    torch.save(dict(meta=dict(), state_dict=moco.state_dict()), pretrained)
    work = tmp_path / 'probe'
    out = run_mim(['train', 'tessera-compression', 'linear-probe_resnet18-w16_embedded-digits.py', '--work-dir',
                   str(work), '--cfg-options', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                   'train_dataloader.dataset.indices=128', 'val_dataloader.dataset.indices=100',
                   f'model.backbone.init_cfg.checkpoint={pretrained}']).stdout
    assert re.search(r'accuracy/top1: [\d.]+', out)
    state = safe_load(str(work / 'epoch_1.pth'), map_location='cpu')['state_dict']
    expected = moco.backbone.state_dict()
    backbone = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    assert set(backbone) == set(expected)
    for key, value in expected.items():
        assert torch.equal(backbone[key], value), key

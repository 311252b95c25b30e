"""The linear-probe config loads the MoCo backbone, freezes it (weights, BN statistics) and trains the head only."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from torch.nn.modules.batchnorm import _BatchNorm

import tessera_compression
from compression_distill_helpers import batch
from tessera_compression.registry import MODELS

CONFIGS = osp.join(osp.dirname(tessera_compression.__file__), 'configs', 'mocov2')


def test_linear_probe_leaves_the_backbone_unchanged(tmp_path):
    moco_cfg = Config.fromfile(osp.join(CONFIGS, 'mocov2_resnet18-w16_embedded-digits.py'))
    moco = MODELS.build(moco_cfg.model)
    moco.init_weights()
    with torch.no_grad():  # make the momentum encoder differ, so the probe provably reads `backbone.*`
        for p in moco.momentum_encoder.parameters():
            p.add_(1.0)
    ckpt = tmp_path / 'moco.pth'
    torch.save(dict(meta=dict(), state_dict=moco.state_dict()), ckpt)

    cfg = Config.fromfile(osp.join(CONFIGS, 'linear-probe_resnet18-w16_embedded-digits.py'))
    cfg.model.backbone.init_cfg.checkpoint = str(ckpt)
    model = MODELS.build(cfg.model)
    model.init_weights()
    pretrained = {k: v.clone() for k, v in moco.backbone.state_dict().items()}
    assert all(torch.equal(v, pretrained[k]) for k, v in model.backbone.state_dict().items())
    assert all(not p.requires_grad for p in model.backbone.parameters())

    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    head_before = model.head.fc.weight.clone()
    model.train()
    assert all(not m.training for m in model.backbone.modules() if isinstance(m, _BatchNorm))
    for i in range(3):
        model.train_step(batch(16, size=28, seed=i), optim)
    for key, value in model.backbone.state_dict().items():  # weights and running statistics
        assert torch.equal(value, pretrained[key]), key
    assert not torch.equal(model.head.fc.weight, head_before)
    assert optim.optimizer.param_groups[0]['lr'] == 30.0 and optim.optimizer.param_groups[0]['weight_decay'] == 0.0

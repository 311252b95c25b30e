"""The strong-baseline and ITM configs build: last stride 1, center loss, parameter counts, the ITM sampler and
hooks; the Market-1501 configs carry the paper's setting."""
import torch
from mmengine.config import Config

import tessera_reid
import tessera_reid.datasets  # noqa: F401
import tessera_reid.engine  # noqa: F401
import tessera_reid.models  # noqa: F401
from tessera_reid.registry import HOOKS, MODELS

CONFIGS = tessera_reid.__path__[0] + '/configs/'
PARAMS_BNNECK_CAMSTYLE = 700176 + 256 + 128 * 500    # as configs/camstyle (the centers are a buffer)


def test_strong_baseline_small_config():
    cfg = Config.fromfile(CONFIGS + 'strong_baseline/strong-baseline_resnet18-w16_camstyle-fashion.py')
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == PARAMS_BNNECK_CAMSTYLE
    assert model.head.loss_center.centers.shape == (500, 128)
    assert model.head.loss_center.loss_weight == 0.0005 and model.head.loss_center.center_lr == 0.5
    with torch.no_grad():
        maps = model.backbone(torch.zeros(1, 3, 32, 32))
    assert maps[-1].shape[-2:] == (8, 8)       # last stride 1 on 32 x 32 canvases
    base = Config.fromfile(CONFIGS + 'strong_baseline/bnneck_resnet18-w16_camstyle-fashion-6e.py')
    bnneck = MODELS.build(base.model)
    assert bnneck.head.loss_center is None and bnneck.backbone(torch.zeros(1, 3, 32, 32))[-1].shape[-2:] == (4, 4)
    assert base.param_scheduler == cfg.param_scheduler and base.train_cfg.max_epochs == cfg.train_cfg.max_epochs == 6


def test_itm_small_config():
    cfg = Config.fromfile(CONFIGS + 'itm/itm_resnet18-w16_camstyle-fashion.py')
    assert cfg.train_dataloader.sampler.type == 'GlobalHardIdentitySampler'
    hooks = [HOOKS.build(h) for h in cfg.custom_hooks]
    margin, search = hooks[0], hooks[1]
    assert margin.stage_epochs == [0, 2, 4] and margin.margins == [0.3, 0.5, 0.7]
    assert search.search_epochs == [2, 4]
    assert cfg.model.head.loss_center.type == 'CenterLoss'     # the strong baseline underneath


def test_market_configs_carry_the_paper_setting():
    cfg = Config.fromfile(CONFIGS + 'strong_baseline/strong-baseline_resnet50_market1501.py')
    assert cfg.model.backbone.depth == 50 and tuple(cfg.model.backbone.strides) == (1, 2, 2, 1)
    assert cfg.model.head.loss_center == dict(type='CenterLoss', loss_weight=0.0005, center_lr=0.5)
    assert cfg.optim_wrapper.optimizer.lr == 3.5e-4 and cfg.train_cfg.max_epochs == 120
    assert cfg.train_dataloader.batch_size == 64
    model = MODELS.build(cfg.model)
    assert model.head.loss_center.centers.shape == (751, 2048)
    itm = Config.fromfile(CONFIGS + 'itm/itm_resnet50_market1501.py')
    assert itm.train_dataloader.sampler.num_identities == 16 and itm.custom_hooks[1].search_epochs == (40, 80)

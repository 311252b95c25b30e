"""The TSM config and its no-shift twin differ only in the temporal shift."""
from mmengine.config import Config

import tessera_video
import tessera_video.models  # noqa: F401
from tessera_video.models import ResNetTSM, TemporalShift
from tessera_video.registry import MODELS

CONFIGS = tessera_video.__path__[0] + '/configs/tsm/'


def test_tsm_and_tsn_configs_match_except_for_the_shift():
    tsm_cfg = Config.fromfile(CONFIGS + 'tsm_resnet18-w16_moving-digits.py')
    tsn_cfg = Config.fromfile(CONFIGS + 'tsn_resnet18-w16_moving-digits.py')
    tsm, tsn = MODELS.build(tsm_cfg.model), MODELS.build(tsn_cfg.model)
    assert isinstance(tsm.backbone, ResNetTSM) and tsm.backbone.num_shifts == 8
    assert not isinstance(tsn.backbone, ResNetTSM)
    assert not any(isinstance(m, TemporalShift) for m in tsn.modules())
    # quarter-width ResNet-18 with ImageNet stem (700,528) + linear head 128 x 4 + 4
    n_tsm = sum(p.numel() for p in tsm.parameters())
    assert n_tsm == sum(p.numel() for p in tsn.parameters()) == 701044
    assert tsm.backbone.num_segments == tsm_cfg.train_dataloader.dataset.num_frames == 8
    for key in ('train_dataloader', 'val_dataloader', 'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert tsm_cfg[key] == tsn_cfg[key]

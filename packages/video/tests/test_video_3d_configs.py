"""The C3D and C2D moving-digits configs: same data and schedule, exact parameter counts, the 2-view test pipeline."""
import torch
from mmengine.config import Config

import tessera_video
import tessera_video.datasets  # noqa: F401
import tessera_video.models  # noqa: F401
from tessera_video.models import ResNet3d
from tessera_video.registry import DATASETS, MODELS

CONFIGS = tessera_video.__path__[0] + '/configs/resnet3d/'


def test_c3d_and_c2d_configs_differ_only_in_the_variant():
    c3d_cfg = Config.fromfile(CONFIGS + 'c3d_resnet18-w16_moving-digits.py')
    c2d_cfg = Config.fromfile(CONFIGS + 'c2d_resnet18-w16_moving-digits.py')
    c3d, c2d = MODELS.build(c3d_cfg.model), MODELS.build(c2d_cfg.model)
    assert isinstance(c3d.backbone, ResNet3d) and (c3d.backbone.variant, c2d.backbone.variant) == ('c3d', 'c2d')
    # backbones 2,075,280 / 700,528 (test_video_resnet3d) + I3DHead 128 x 4 + 4; C2D = the TSN/TSM configs' count
    assert sum(p.numel() for p in c3d.parameters()) == 2_075_796
    assert sum(p.numel() for p in c2d.parameters()) == 701_044
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'optim_wrapper', 'param_scheduler',
                'train_cfg'):
        assert c3d_cfg[key] == c2d_cfg[key]
    assert c3d_cfg.default_scope == 'tessera_video'


def test_pipelines_give_one_training_window_and_two_test_views():
    cfg = Config.fromfile(CONFIGS + 'c3d_resnet18-w16_moving-digits.py')
    train = DATASETS.build(dict(cfg.train_dataloader.dataset, indices=2))
    test = DATASETS.build(dict(cfg.test_dataloader.dataset, indices=2))
    t, v = train[0], test[0]
    assert t['inputs'].shape == (1, 1, 4, 48, 48) and t['inputs'].dtype == torch.uint8
    assert v['inputs'].shape == (2, 1, 4, 48, 48)
    assert v['data_samples'].frame_inds.tolist() == list(range(8))  # views [0..3] and [4..7]
    clip = test.get_data_info(0)['img']
    assert torch.equal(v['inputs'][1, 0], torch.from_numpy(clip[4:8]))
    model = MODELS.build(cfg.model).eval()
    batch = model.data_preprocessor(dict(inputs=[v['inputs'], test[1]['inputs']],
                                         data_samples=[v['data_samples'], test[1]['data_samples']]))
    assert batch['inputs'].shape == (2, 2, 1, 4, 48, 48)
    with torch.no_grad():
        preds = model(**batch, mode='predict')
    assert len(preds) == 2 and preds[0].pred_score.shape == (4,)

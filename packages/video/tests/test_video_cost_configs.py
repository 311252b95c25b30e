"""The CoST comparison configs: equal data and schedule, only the inflated convs differ, exact parameter counts,
8 directions; the paper-setting ResNet-50 configs build."""
from mmengine.config import Config

import tessera_video
import tessera_video.datasets  # noqa: F401
import tessera_video.models  # noqa: F401
from tessera_video.models import CoSTa, CoSTb, ResNet3dCoST
from tessera_video.registry import DATASETS, MODELS

CONFIGS = tessera_video.__path__[0] + '/configs/cost/'
NAMES = ('c2d', 'c3d', 'costa', 'costb')


def count(m):
    return sum(p.numel() for p in m.parameters())


def test_moving_digits_configs_differ_only_in_the_inflated_convs():
    cfgs = {n: Config.fromfile(f'{CONFIGS}{n}_resnet18-w16_moving-digits-8dir.py') for n in NAMES}
    models = {n: MODELS.build(c.model) for n, c in cfgs.items()}
    head = 128 * 8 + 8
    # backbones: C2D 700,528; + 3 x 960 coefficients (CoST(a)); + sum(C^2 + 9) = 87,184 (CoST(b)); C3D 2,073,712
    assert {n: count(m) for n, m in models.items()} == {
        'c2d': 700_528 + head, 'costa': 703_408 + head, 'costb': 787_712 + head, 'c3d': 2_073_712 + head}
    assert all(isinstance(m.backbone, ResNet3dCoST) for m in models.values())
    assert {type(m).__name__ for _, m in models['costa'].backbone.cost_layers()} == {'CoSTa'}
    assert {type(m).__name__ for _, m in models['costb'].backbone.cost_layers()} == {'CoSTb'}
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'optim_wrapper', 'param_scheduler',
                'train_cfg', 'test_cfg'):
        assert all(cfgs[n][key] == cfgs['c2d'][key] for n in NAMES), key
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfgs['costa'][split].dataset.num_directions == 8
    test = DATASETS.build(dict(cfgs['costa'].test_dataloader.dataset, indices=8))
    assert len(test.metainfo['classes']) == 8 and test[0]['inputs'].shape == (2, 1, 4, 48, 48)


def test_paper_setting_configs_build_the_official_r50():
    for name, unit in (('costa', CoSTa), ('costb', CoSTb)):
        cfg = Config.fromfile(f'{CONFIGS}{name}_r50_8x8x1_kinetics400-rgb.py')
        model = MODELS.build(cfg.model)
        layers = model.backbone.cost_layers()
        assert len(layers) == 8 and all(isinstance(m, unit) for _, m in layers)
        assert cfg.train_dataloader.dataset.pipeline[1] == dict(type='SampleFrames', clip_len=8, frame_interval=8,
                                                                 num_clips=1)
        assert cfg.test_dataloader.dataset.pipeline[1]['num_clips'] == 10
        assert cfg.optim_wrapper.optimizer.lr == 0.01 and cfg.train_cfg.max_epochs == 160
    assert count(MODELS.build(cfg.model).backbone) == 24_265_864

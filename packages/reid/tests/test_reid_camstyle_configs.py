"""The CamStyle-ReID configs build: datasets of both domains, the model, the direct-transfer evaluation."""
import torch
from mmengine.config import Config

import tessera_reid
import tessera_reid.datasets  # noqa: F401
import tessera_reid.engine  # noqa: F401
import tessera_reid.evaluation  # noqa: F401
import tessera_reid.models  # noqa: F401
from tessera_reid.registry import DATASETS, HOOKS, METRICS, MODELS

CONFIGS = tessera_reid.__path__[0] + '/configs/'
SMALL = dict(num_train_ids=8, num_test_ids=4, shots_per_camera=2)


def small(dataset_cfg, tmp_path):
    return dict(dataset_cfg, cache_root=str(tmp_path), **SMALL)


def test_dataset_bases_of_both_domains(tmp_path):
    for domain in ('fashion', 'digits'):
        cfg = Config.fromfile(CONFIGS + f'_base_/datasets/camstyle_{domain}.py')
        assert cfg.train_dataloader.batch_size == 8 * 4
        assert cfg.val_dataloader.dataset.num_test_ids == 300 and cfg.train_dataloader.dataset.num_train_ids == 500
        test = DATASETS.build(small(cfg.val_dataloader.dataset, tmp_path))
        item = test[0]
        assert test.metainfo['domain'] == domain and len(test) == 4 * 6 * 2
        assert item['inputs'].shape == (3, 32, 32) and item['data_samples'].metainfo['camid'] == 0
        assert METRICS.build(cfg.val_evaluator).with_minp


def test_smoke_config_trains_a_step_and_transfer_config_tests_on_digits(tmp_path):
    cfg = Config.fromfile(CONFIGS + 'camstyle/bnneck_resnet18-w16_camstyle-fashion.py')
    assert cfg.default_scope == 'tessera_reid' and cfg.model.backbone.in_channels == 3
    model = MODELS.build(cfg.model)
    # quarter-width ResNet-18 with a 3-channel 3x3 stem: 700,176 (699,888 + 2 x 144 more stem weights) + BNNeck
    # 2 x 128 + classifier 128 x 500
    assert sum(p.numel() for p in model.parameters()) == 700176 + 256 + 128 * 500
    train = DATASETS.build(small(cfg.train_dataloader.dataset, tmp_path))
    batch = [train[i] for i in range(0, len(train), 6)][:8]
    data = model.data_preprocessor(dict(inputs=[b['inputs'] for b in batch],
                                        data_samples=[b['data_samples'] for b in batch]), training=True)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    assert torch.isfinite(losses['loss_cls']) and torch.isfinite(losses['loss_triplet'])
    assert HOOKS.build(cfg.custom_hooks[0]).topk == 8
    transfer = Config.fromfile(CONFIGS + 'camstyle/bnneck_resnet18-w16_camstyle-fashion-to-digits.py')
    assert transfer.train_dataloader.dataset.domain == 'fashion'
    assert transfer.val_dataloader.dataset.domain == transfer.test_dataloader.dataset.domain == 'digits'
    assert transfer.test_dataloader.dataset.split == 'test' and transfer.test_evaluator.with_minp

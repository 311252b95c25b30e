"""The configs build: the embedded default and the paper's Market-1501 setting (on a tiny folder)."""
import numpy as np
import torch
from mmengine.config import Config

import mmcv
import tessera_reid
import tessera_reid.datasets  # noqa: F401
import tessera_reid.evaluation  # noqa: F401
import tessera_reid.models  # noqa: F401
from tessera_reid.registry import DATASETS, DATA_SAMPLERS, METRICS, MODELS

CONFIGS = tessera_reid.__path__[0] + '/configs/bnneck/'


def test_embedded_default_builds_with_counted_parameters():
    cfg = Config.fromfile(CONFIGS + 'bnneck_resnet18-w16_embedded-digits.py')
    model = MODELS.build(cfg.model)
    # quarter-width ResNet-18 (3x3 stem) 699,888 + BNNeck weight/bias 2 x 128 + bias-free classifier 128 x 5
    assert sum(p.numel() for p in model.parameters()) == 700784
    assert cfg.train_dataloader.batch_size == 4 * 8
    assert METRICS.build(cfg.val_evaluator).topk == (1, 5)


def test_market_config_builds_and_reads_a_market_folder(tmp_path):
    for folder, names in (('bounding_box_train', ['0002_c1s1_000451_03.jpg', '0007_c2s1_000551_01.jpg']),
                          ('query', ['0003_c1s1_000201_00.jpg']), ('bounding_box_test', ['0003_c2s1_000301_02.jpg'])):
        (tmp_path / folder).mkdir()
        for name in names:
            mmcv.imwrite(np.random.randint(0, 256, (64, 32, 3), dtype=np.uint8), str(tmp_path / folder / name))
    cfg = Config.fromfile(CONFIGS + 'bnneck_resnet50_market1501.py')
    cfg.train_dataloader.dataset.data_root = str(tmp_path)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    item = dataset[0]
    assert item['inputs'].shape == (3, 256, 128) and int(item['data_samples'].gt_label) == 0
    sampler = DATA_SAMPLERS.build(dict(cfg.train_dataloader.sampler, num_identities=2, num_instances=4),
                                  default_args=dict(dataset=dataset, seed=0))
    assert len(list(sampler)) == 8
    model = MODELS.build(cfg.model).eval()
    assert model.head.num_classes == 751 and model.backbone.strides == (1, 2, 2, 1)  # last stride 1
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[item['inputs']], data_samples=[item['data_samples']]))
        assert model.backbone(data['inputs'])[-1].shape == (1, 2048, 16, 8)  # stride 16 with last stride 1
        assert model(data['inputs']).shape == (1, 2048)

"""The mmdet dataset class, registry scopes, anchors that fit digits, and one training step of the detector."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import tessera_detection
from tessera_detection.datasets import DigitCanvas, DigitCanvasDataset
from tessera_detection.registry import DATASETS, HOOKS, MODELS, TASK_UTILS, VISUALIZERS

CONFIG = osp.join(osp.dirname(tessera_detection.__file__), 'configs', 'digit_canvas',
                  'retinanet_resnet18-w16_fpn_digit-canvas.py')


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(CONFIG)  # components are built in the scope of conftest's autouse fixture


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return str(tmp_path_factory.mktemp('canvases') / 'digits')


def _dataset(cfg, data_root, split='train', **gen):
    dl = cfg.train_dataloader if split == 'train' else cfg.val_dataloader
    ds_cfg = dict(dl.dataset, data_root=data_root, generator=dict(cfg.generator, num_train=16, num_val=8, **gen))
    return DATASETS.build(ds_cfg)


def test_scope_resolves_mmdet_and_core_components(cfg):
    import tessera_core.models  # noqa: F401  (what the config's custom_imports does)
    from mmdet.models.detectors import RetinaNet
    from tessera_core.models.backbones.resnet import ResNet
    assert MODELS.get('RetinaNet') is RetinaNet and MODELS.get('mmdet.RetinaNet') is RetinaNet
    assert MODELS.get('tessera_core.ResNet') is ResNet
    assert MODELS.get('FPN').__module__.startswith('mmdet.')
    assert TASK_UTILS.get('MaxIoUAssigner').__module__.startswith('mmdet.')
    assert VISUALIZERS.get('DetLocalVisualizer').__module__.startswith('mmdet.')
    assert DATASETS.get('DigitCanvasDataset') is DigitCanvasDataset
    assert HOOKS.get('DetectionGridHook').__module__ == 'tessera_detection.engine.detection_grid_hook'
    assert cfg.default_scope == 'tessera_detection'
    assert cfg.custom_imports['imports'] == ['tessera_core.models']


def test_dataset_generates_on_first_use_with_digit_categories(cfg, data_root):
    assert not osp.exists(data_root)
    ds = _dataset(cfg, data_root)
    assert osp.isfile(osp.join(data_root, 'annotations', 'instances_train.json'))
    assert ds.metainfo['classes'] == tuple(str(i) for i in range(10))
    assert ds.cat_ids == list(range(1, 11)) and ds.cat2label == {i + 1: i for i in range(10)}
    assert len(ds) == 16
    marker = osp.join(data_root, 'digit_canvas.json')
    mtime = os.stat(marker).st_mtime_ns
    val = _dataset(cfg, data_root, split='val')  # same generator: reuses the files
    assert os.stat(marker).st_mtime_ns == mtime and len(val) == 8
    # labels follow the json's category ids
    with open(osp.join(data_root, 'annotations', 'instances_train.json')) as f:
        coco = json.load(f)
    info = ds.get_data_info(0)
    expected = sorted(a['category_id'] - 1 for a in coco['annotations'] if a['image_id'] == info['img_id'])
    boxes = sorted([x, y, x + w, y + h] for x, y, w, h in
                   (a['bbox'] for a in coco['annotations'] if a['image_id'] == info['img_id']))
    assert sorted(i['bbox'] for i in info['instances']) == boxes  # xyxy, pixel-edge
    assert sorted(i['bbox_label'] for i in info['instances']) == expected
    sample = ds[0]['data_samples']
    assert sample.gt_instances.bboxes.shape[1] == 4 and len(sample.gt_instances) == len(expected)


def test_bad_split_is_named(cfg, data_root):
    with pytest.raises(ValueError, match="unknown split 'test'.*'train', 'val'"):
        DigitCanvasDataset(split='test', data_root=data_root)


def test_anchors_fit_the_digit_scale(cfg):
    """>= 90 % of the generated boxes have an anchor of IoU >= 0.5 (positive for the assigner)."""
    from mmdet.structures.bbox import bbox_overlaps
    gen = DigitCanvas(**{k: v for k, v in cfg.generator.items() if k != 'type'})
    rng = np.random.RandomState(0)
    boxes = [o['box'] for _ in range(100) for o in gen.render_canvas(rng, gen.source_pools()[2]['train'])[1]]
    gt = torch.tensor([[x0, y0, x1 + 1, y1 + 1] for x0, y0, x1, y1 in boxes], dtype=torch.float32)
    head = cfg.model.bbox_head
    prior_gen = TASK_UTILS.build(head.anchor_generator)
    size = gen.canvas_size
    anchors = torch.cat(prior_gen.grid_priors([(size // s, size // s) for s in head.anchor_generator.strides],
                                              device='cpu'))
    best = bbox_overlaps(gt, anchors).max(dim=1).values
    assert (best >= 0.5).float().mean() >= 0.9


def test_detector_builds_and_returns_losses_and_predictions(cfg, data_root):
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__module__ == 'tessera_core.models.backbones.resnet'
    ds = _dataset(cfg, data_root)
    batch = pseudo_collate([ds[i] for i in range(4)])
    model.train()
    data = model.data_preprocessor(batch, True)
    assert data['inputs'].shape == (4, 3, 128, 128)
    feats = model.extract_feat(data['inputs'])
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 16, 16), (64, 8, 8), (64, 4, 4)]  # strides 8, 16, 32
    losses = model(**data, mode='loss')
    assert {'loss_cls', 'loss_bbox'} <= set(losses)
    total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(v) for v in losses.values())
    assert torch.isfinite(total) and total > 0
    total.backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    model.eval()
    val = _dataset(cfg, data_root, split='val')
    with torch.no_grad():
        preds = model.test_step(pseudo_collate([val[i] for i in range(2)]))
    assert len(preds) == 2 and preds[0].pred_instances.bboxes.shape[1] == 4
    assert all(((p.pred_instances.labels >= 0) & (p.pred_instances.labels < 10)).all() for p in preds)

"""Rotated digit canvases: determinism, exact minimum-area rotated boxes in DOTA files, held-out split, cache,
the dataset and base config end to end through DOTAMetric."""
import json
import math
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

import tessera_detection
from tessera_core.datasets.embedded_digits import stratified_split
from tessera_detection.datasets import (DigitCanvas, RotatedDigitCanvas, RotatedDigitCanvasDataset,
                                        min_area_rbox)
from tessera_detection.registry import DATA_GENERATORS, DATASETS, METRICS
from tessera_detection.structures import check_rboxes, poly2rbox, rbox2poly

BASE = osp.join(osp.dirname(tessera_detection.__file__), 'configs', '_base_', 'datasets', 'rotated_digit_canvas.py')


def _files(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            with open(osp.join(dirpath, name), 'rb') as f:
                out[osp.relpath(osp.join(dirpath, name), root)] = f.read()
    return out


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    gen = RotatedDigitCanvas(num_train=40, num_val=20, seed=3)
    root = str(tmp_path_factory.mktemp('rcanvas'))
    gen.generate(root, show_progress=False)
    return gen, root


def _canvases(root, split):
    names = sorted(n[:-4] for n in os.listdir(osp.join(root, split, 'labelTxt')))
    objs = RotatedDigitCanvas.read_split(root, split)
    imgs = [cv2.imread(osp.join(root, split, 'images', n + '.png'))[..., ::-1] for n in names]
    return names, objs, imgs


def _pixel_corners(mask):
    ys, xs = np.nonzero(mask)
    return np.concatenate([np.stack([xs + dx, ys + dy], 1) for dx in (0, 1) for dy in (0, 1)]).astype(np.float64)


def _local(points, rbox):
    u = np.array([math.cos(rbox[4]), math.sin(rbox[4])])
    v = np.array([-u[1], u[0]])
    d = points - rbox[:2]
    return d @ u, d @ v


def _brute_force_min_area(points, step_deg=0.25):
    best = np.inf
    for a in np.deg2rad(np.arange(0, 90, step_deg)):
        u, v = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
        pu, pv = points @ u, points @ v
        best = min(best, (pu.max() - pu.min()) * (pv.max() - pv.min()))
    return best


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    for root, seed in ((a, 1), (b, 1), (c, 2)):
        RotatedDigitCanvas(num_train=6, num_val=3, seed=seed).generate(root, show_progress=False)
    fa, fb, fc = _files(a), _files(b), _files(c)
    assert len(fa) == 2 * (6 + 3) + 2 + 1  # PNG + txt per canvas, items.json per split, the marker
    assert fa == fb
    assert fa['train/labelTxt/000001.txt'] != fc['train/labelTxt/000001.txt']


def test_dota_layout_classes_and_counts(generated):
    gen, root = generated
    for split, n in (('train', 40), ('val', 20)):
        names, objs, imgs = _canvases(root, split)
        assert names == [f'{i:06d}' for i in range(1, n + 1)]
        assert all(im.shape == (128, 128, 3) for im in imgs)
        assert all(1 <= len(o) <= 4 for o in objs)
        assert {x['name'] for o in objs for x in o} <= set('0123456789')
        assert all(x['difficult'] == 0 for o in objs for x in o)
        angles = np.array([poly2rbox(x['poly'])[4] for o in objs for x in o])
        assert angles.min() < -0.7 and angles.max() > 0.7  # all orientations, not only upright boxes


def test_boxes_are_the_exact_minimum_area_rectangles_of_the_pixels(generated):
    gen, root = generated
    checked = 0
    for split in ('train', 'val'):
        _, objs, imgs = _canvases(root, split)
        for o, img in zip(objs, imgs):
            fg = img.max(axis=2) > 0
            owner = np.full(fg.shape, -1)
            ys, xs = np.nonzero(fg)
            centres = np.stack([xs + .5, ys + .5], 1)
            boxes = [poly2rbox(x['poly']) for x in o]
            check_rboxes(np.array(boxes))
            for k, box in enumerate(boxes):
                pu, pv = _local(centres, box)
                inside = (np.abs(pu) < box[2] / 2) & (np.abs(pv) < box[3] / 2)
                assert (owner[ys[inside], xs[inside]] == -1).all(), 'a pixel inside two boxes'
                owner[ys[inside], xs[inside]] = k
            assert (owner[fg] >= 0).all(), 'a pixel outside every box'
            for k, box in enumerate(boxes):
                corners = _pixel_corners(owner == k)
                pu, pv = _local(corners, box)
                tol = 2e-3  # the polygons are written with 3 decimals
                # encloses every pixel square, and every side touches one (tight)
                assert np.abs(pu).max() <= box[2] / 2 + tol and np.abs(pv).max() <= box[3] / 2 + tol
                assert pu.max() > box[2] / 2 - tol and pu.min() < -box[2] / 2 + tol
                assert pv.max() > box[3] / 2 - tol and pv.min() < -box[3] / 2 + tol
                # and no rectangle at any angle is smaller
                brute = _brute_force_min_area(corners)
                assert box[2] * box[3] <= brute * (1 + 1e-4)
                assert box[2] * box[3] >= brute * 0.97
                assert (rbox2poly(box) >= -tol).all() and (rbox2poly(box) <= 128 + tol).all()
                checked += 1
    assert checked > 100


def test_min_area_rbox_of_hand_made_masks():
    mask = np.zeros((20, 30), bool)
    mask[5:8, 4:14] = True  # a 10 x 3 bar: the box is the pixel squares' rectangle
    np.testing.assert_allclose(min_area_rbox(mask), [9, 6.5, 10, 3, 0], atol=1e-4)
    np.testing.assert_allclose(min_area_rbox(mask.T), [6.5, 9, 10, 3, -math.pi / 2], atol=1e-4)
    one = np.zeros((5, 5), bool)
    one[2, 3] = True  # one pixel is a 1 x 1 square, not a point
    r = min_area_rbox(one, offset=(10, 20))
    np.testing.assert_allclose(r[:4], [13.5, 22.5, 1, 1], atol=1e-5)
    diag = np.eye(12, dtype=bool)  # a diagonal staircase: turned by 45 degrees
    r = min_area_rbox(diag)
    assert abs(abs(r[4]) - math.pi / 4) < 1e-4
    assert r[2] == pytest.approx(12 * math.sqrt(2), abs=1e-3) and r[3] == pytest.approx(math.sqrt(2), abs=1e-3)
    with pytest.raises(ValueError, match='empty'):
        min_area_rbox(np.zeros((3, 3), bool))


def test_val_uses_only_held_out_digits_and_labels_match(generated):
    gen, root = generated
    _, labels, _ = gen.source_pools()
    train_idx, test_idx = stratified_split(labels, test_per_class=100)
    for split, allowed in (('train', set(train_idx.tolist())), ('val', set(test_idx.tolist()))):
        with open(osp.join(root, split, 'items.json')) as f:
            items = json.load(f)
        objs = RotatedDigitCanvas.read_split(root, split)
        for item, o in zip(items, objs):
            assert [x['name'] for x in o] == [str(s['label']) for s in item['objects']]
            for s in item['objects']:
                assert s['source_index'] in allowed and labels[s['source_index']] == s['label']
                assert -90 <= s['rotation'] <= 90


def test_registered_cache_key_and_ensure(tmp_path, monkeypatch):
    monkeypatch.setenv('TESSERA_CACHE', str(tmp_path))
    gen = DATA_GENERATORS.build(dict(type='RotatedDigitCanvas', num_train=3, num_val=2))
    assert isinstance(gen, RotatedDigitCanvas)
    assert gen.default_root() == str(tmp_path / 'datasets' / f'rotated_digit_canvas_{gen.key()}')
    assert gen.key() != DigitCanvas(num_train=3, num_val=2).key()
    assert gen.key() != RotatedDigitCanvas(num_train=3, num_val=2, angle_range=(-45, 45)).key()
    root = gen.ensure(show_progress=False)
    reference = _files(root)
    os.remove(osp.join(root, 'val', 'labelTxt', '000002.txt'))
    assert not gen.is_complete(root)
    gen.ensure(root, show_progress=False)
    assert _files(root) == reference
    assert not RotatedDigitCanvas(num_train=4, num_val=2).is_complete(root)
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'x.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='not a rotated digit-canvas folder'):
        gen.ensure(str(foreign), show_progress=False)
    with pytest.raises(ValueError, match='angle_range'):
        RotatedDigitCanvas(angle_range=(10, -10))


def test_fashion_classes_are_dota_tokens(tmp_path):
    gen = RotatedDigitCanvas(source='fashion-mnist', fashion_root=str(tmp_path))
    assert gen.classes[-1] == 'Ankle-boot' and not any(' ' in c for c in gen.classes)


def test_base_config_dataset_and_metric_end_to_end(tmp_path):
    from mmdet.structures import DetDataSample
    from mmengine.evaluator import Evaluator
    from mmengine.structures import InstanceData
    cfg = Config.fromfile(BASE)
    gen = dict(cfg.generator, num_train=8, num_val=6)
    root = str(tmp_path / 'rdc')
    train = DATASETS.build(dict(cfg.train_dataloader.dataset, generator=gen, data_root=root))
    val = DATASETS.build(dict(cfg.val_dataloader.dataset, generator=gen, data_root=root))
    assert isinstance(val, RotatedDigitCanvasDataset) and len(train) == 8 and len(val) == 6
    assert val.metainfo['classes'] == tuple('0123456789')
    samples = [val[i] for i in range(len(val))]
    assert all(s['inputs'].shape == (3, 128, 128) for s in samples)

    def evaluate(turn):
        """The ground truth as detections, each box turned by ``turn`` radians about its centre."""
        evaluator = Evaluator(METRICS.build(cfg.val_evaluator))
        evaluator.dataset_meta = val.metainfo
        for s in samples:
            gt = s['data_samples'].gt_instances
            assert gt.bboxes.shape[1] == 5 and len(gt.bboxes) >= 1
            out = DetDataSample(metainfo=s['data_samples'].metainfo)
            out.gt_instances, out.ignored_instances = gt, s['data_samples'].ignored_instances
            boxes = gt.bboxes.clone()
            boxes[:, 4] += turn
            out.pred_instances = InstanceData(bboxes=boxes, scores=torch.linspace(1, .5, len(boxes)),
                                              labels=gt.labels)
            evaluator.process(data_samples=[out], data_batch=dict(inputs=[s['inputs']]))
        return evaluator.evaluate(len(samples))

    perfect = evaluate(0.0)
    assert perfect['dota/mAP'] == pytest.approx(1.0) and perfect['dota/mAP_50'] == pytest.approx(1.0)
    assert evaluate(math.pi)['dota/mAP'] == pytest.approx(1.0)  # the same boxes
    turned = evaluate(math.pi / 2)  # digits are longer than wide: most turned boxes miss at IoU 0.75
    assert turned['dota/mAP_75'] < 0.5 and turned['dota/mAP'] < perfect['dota/mAP']

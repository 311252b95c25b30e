import filecmp
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from tessera_multimodal.datasets.stamp_scenes import (CAPTION_LEVELS, RELATION_TEXT, StampScenes, compose_captions,
                                                      definite, noun_phrase, scene_relations)
from tessera_multimodal.datasets.tuxpaint_stamps import INSTALL_HINT, TUXPAINT_STAMPS_ROOT

from test_tuxpaint_stamps import write_stamp

needs_stamps = pytest.mark.skipif(not osp.isdir(TUXPAINT_STAMPS_ROOT),
                                  reason=f'{TUXPAINT_STAMPS_ROOT} absent (`{INSTALL_HINT}`)')
COLOURS = [(255, 0, 255), (0, 255, 255), (255, 255, 0), (0, 0, 255), (0, 255, 0), (255, 0, 0)]
NAMES = ['red apple', 'penguin', 'brown owl', 'fire truck', 'blue eye', 'little rabbit', 'dingo', 'hand',
         'square tower', 'bluebird', 'chick', 'grave marker']


@pytest.fixture(scope='module')
def stamp_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('stamps')
    for i, name in enumerate(NAMES):
        write_stamp(root, f'cat{i % 3}/{name.replace(" ", "_")}', f'A {name}.', size=(20 + 7 * i, 60 - 3 * i),
                    color=COLOURS[i % len(COLOURS)], rect=i % 2 == 1)
    return str(root)


def build(stamp_root, cache_root, split='train', **kw):
    kw = dict(dict(num_train=40, num_test=20, size=(64, 64), test_fraction=0.25), **kw)
    return StampScenes(split=split, stamp_root=stamp_root, cache_root=str(cache_root), **kw)


def centre(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def area(box):
    return (box[2] - box[0]) * (box[3] - box[1])


def check_scene(info, size):
    boxes = info['gt_bboxes'].tolist()
    caps = info['captions']
    words = [len(caps[level].split()) for level in CAPTION_LEVELS]
    assert words[0] < words[1] < words[2], caps
    assert info['num_objects'] == len(boxes) == len(info['descriptions']) and 1 <= len(boxes) <= 3
    count = ['one thing', 'two things', 'three things'][len(boxes) - 1]
    assert caps['long'].startswith(f'There {"is" if len(boxes) == 1 else "are"} {count}.')
    for i, b in enumerate(boxes):
        assert 0 <= b[0] < b[2] <= size[1] and 0 <= b[1] < b[3] <= size[0]
        for j in range(i):
            a = boxes[j]   # no overlap: separated on some axis
            assert max(a[0] - b[2], b[0] - a[2], a[1] - b[3], b[1] - a[3]) >= 2
        assert noun_phrase(info['descriptions'][i]).lower() in caps['short'].lower()
    for rel in info['relations']:
        s = boxes[rel['subject']]
        if rel['kind'] == 'picture_size':
            share = area(s) / (size[0] * size[1])
            assert rel['relation'] == ('small' if share < 0.1 else 'medium-sized' if share < 0.25 else 'large')
            continue
        o = boxes[rel['object']]
        (sx, sy), (ox, oy) = centre(s), centre(o)
        r = rel['relation']
        # hand check from box centres (and separation)
        if r == 'left of':
            assert sx < ox and s[2] <= o[0]
        elif r == 'right of':
            assert sx > ox and o[2] <= s[0]
        elif r == 'above':
            assert sy < oy and s[3] <= o[1]
        elif r == 'below':
            assert sy > oy and o[3] <= s[1]
        elif r == 'bigger than':
            assert area(s) >= 1.5 * area(o)
        elif r == 'smaller than':
            assert 1.5 * area(s) <= area(o)
        else:
            assert r == 'about as big as' and area(o) / 1.5 < area(s) < 1.5 * area(o)
        subject = definite(noun_phrase(info['descriptions'][rel['subject']]))
        obj = definite(noun_phrase(info['descriptions'][rel['object']]))
        text = f'{subject} is {RELATION_TEXT[r]} {obj}.'
        assert text[:1].upper() + text[1:] in caps['long']


def test_hand_built_relations_and_captions():
    size = (90, 90)
    boxes = [[0, 0, 10, 10], [60, 5, 90, 40]]          # apple far left, small; owl right, bigger
    rels = scene_relations(boxes, size)
    assert [(r['relation'], r['subject'], r['object']) for r in rels] == [('left of', 0, 1), ('smaller than', 0, 1)]
    caps = compose_captions(['A red apple.', 'A brown owl.'], boxes, size, rels)
    assert caps['short'] == 'A red apple and a brown owl.'
    assert caps['medium'] == 'A red apple at the top left and a brown owl at the top right.'
    assert caps['long'] == ('There are two things. A red apple at the top left and a brown owl at the top right. '
                            'The red apple is to the left of the brown owl. '
                            'The red apple is smaller than the brown owl.')
    # swapped order: the relation flips, the short caption still reads left to right
    rels = scene_relations(boxes[::-1], size)
    assert [r['relation'] for r in rels] == ['right of', 'bigger than']
    assert compose_captions(['A brown owl.', 'A red apple.'], boxes[::-1], size, rels)['short'] == \
        'A red apple and a brown owl.'
    # vertical: the larger gap decides the axis
    assert scene_relations([[0, 0, 20, 20], [5, 60, 25, 80]], size)[0]['relation'] == 'above'
    assert scene_relations([[30, 30, 60, 60]], size) == [dict(kind='picture_size', subject=0, relation='medium-sized')]
    with pytest.raises(ValueError, match='overlap'):
        scene_relations([[0, 0, 20, 20], [10, 10, 30, 30]], size)


def test_same_seed_same_files_and_scenes_valid(stamp_root, tmp_path):
    a, b = build(stamp_root, tmp_path / 'a'), build(stamp_root, tmp_path / 'b')
    c = build(stamp_root, tmp_path / 'c', seed=1)
    for name in ('images.npy', 'scenes.json', 'spec.json'):
        assert filecmp.cmp(osp.join(a.cache_dir, name), osp.join(b.cache_dir, name), shallow=False), name
    assert not np.array_equal(a.images, c.images)
    counts = np.bincount([a[i]['num_objects'] for i in range(len(a))], minlength=4)
    assert len(a) == 40 and counts[1:].min() > 0, counts   # every count 1..3 occurs
    for i in range(len(a)):
        check_scene(a[i], (64, 64))
    # a second build reads the cache
    assert build(stamp_root, tmp_path / 'a').cache_dir == a.cache_dir


def test_boxes_are_exact(stamp_root, tmp_path):
    ds = build(stamp_root, tmp_path)
    for i in range(len(ds)):
        info = ds[i]
        for box, stamp in zip(info['gt_bboxes'].astype(int), info['stamps']):
            colour = COLOURS[NAMES.index(stamp.split('/')[1].replace('_', ' ')) % len(COLOURS)]
            crop = info['img'][box[1]:box[3], box[0]:box[2]].astype(int)
            hit = (np.abs(crop - np.array(colour)[::-1]).sum(-1) <= 3)   # pure stamp colour (written BGR)
            assert hit[hit.shape[0] // 2, hit.shape[1] // 2]
            if NAMES.index(stamp.split('/')[1].replace('_', ' ')) % 2 == 1:   # opaque rectangle: fills its box
                assert hit.all()
                img = info['img'].astype(int)
                x1, y1, x2, y2 = box   # and nothing of it outside (tight)
                for y, x in ((y1 - 1, x1), (y2, x1), (y1, x1 - 1), (y1, x2)):
                    if 0 <= y < 64 and 0 <= x < 64:
                        assert np.abs(img[y, x] - np.array(colour)[::-1]).sum() > 3


def test_split_by_stamp_and_items(stamp_root, tmp_path):
    train, test = build(stamp_root, tmp_path), build(stamp_root, tmp_path, split='test', caption_level='long')
    train_stamps = {s for r in train.scenes for s in r['stamps']}
    test_stamps = {s for r in test.scenes for s in r['stamps']}
    assert train_stamps and test_stamps and not train_stamps & test_stamps
    assert len(test) == 20 and test.metainfo['num_stamps'] == 3
    info = test[0]
    assert info['caption'] == info['captions']['long'] and info['img'].shape == (64, 64, 3)
    assert info['gt_bboxes'].shape == (info['num_objects'], 4) and info['gt_bboxes'].dtype == np.float32
    with open(osp.join(test.cache_dir, 'scenes.json')) as f:
        assert len(json.load(f)) == 60


def test_bad_input(stamp_root, tmp_path):
    with pytest.raises(ValueError, match='caption_level'):
        build(stamp_root, tmp_path, caption_level='huge')
    with pytest.raises(ValueError, match='split'):
        build(stamp_root, tmp_path, split='val')
    with pytest.raises(FileNotFoundError, match=INSTALL_HINT.replace('-', '.')):
        build(str(tmp_path / 'absent'), tmp_path)
    with pytest.raises(ValueError, match='too few'):
        build(stamp_root, tmp_path, max_description_words=1)


@needs_stamps
def test_real_stamp_scenes(tmp_path):
    train = StampScenes(split='train', num_train=60, num_test=30, cache_root=str(tmp_path))
    test = StampScenes(split='test', num_train=60, num_test=30, cache_root=str(tmp_path))
    assert not {s for r in train.scenes for s in r['stamps']} & {s for r in test.scenes for s in r['stamps']}
    for ds in (train, test):
        for i in range(len(ds)):
            check_scene(ds[i], (96, 96))


def test_base_config_builds_dataloader(stamp_root, tmp_path, default_scope):
    import tessera_multimodal
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(osp.dirname(tessera_multimodal.__file__), 'configs/_base_/datasets/stamp_scenes.py'))
    loader_cfg = cfg.train_dataloader
    loader_cfg.dataset.update(stamp_root=stamp_root, cache_root=str(tmp_path), num_train=16, num_test=8,
                              size=(64, 64))
    loader_cfg.batch_size = 4
    batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
    assert batch['inputs'][0].shape == (3, 64, 64)
    sample = batch['data_samples'][0]
    assert sample.caption == sample.captions['medium']
    assert sample.gt_bboxes.shape == (sample.num_objects, 4)

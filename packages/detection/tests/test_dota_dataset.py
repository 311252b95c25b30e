"""DOTA text format and folders: real-style files (headers, difficult, HRSC2016), le90 boxes, bad input, packing."""
import math
import os

import cv2
import numpy as np
import pytest
import torch

from tessera_detection.datasets import DOTADataset, LoadRotatedAnnotations, PackRotatedDetInputs
from tessera_detection.datasets.dota_format import format_dota_line, parse_dota_file, write_dota_file
from tessera_detection.registry import DATASETS, TRANSFORMS

# Lines in the style of DOTA_devkit's example/labelTxt/P0706.txt (header lines, integer corners, difficult).
P0001 = """imagesource:GoogleEarth
gsd:0.255589285596
10 20 50 20 50 40 10 40 ship 0
100 100 120 100 120 160 100 160 harbor 1

30 60 60 60 60 70 30 70 small-vehicle
"""


def _folder(root, files, suffix='.png', size=(200, 200)):
    os.makedirs(root / 'images', exist_ok=True)
    os.makedirs(root / 'labelTxt', exist_ok=True)
    for stem, text in files.items():
        (root / 'labelTxt' / f'{stem}.txt').write_text(text)
        cv2.imwrite(str(root / 'images' / f'{stem}{suffix}'), np.zeros((*size, 3), np.uint8))
    return str(root)


def test_parse_skips_headers_and_blank_lines_and_defaults_difficult(tmp_path):
    path = tmp_path / 'P0001.txt'
    path.write_text(P0001)
    objs = parse_dota_file(str(path))
    assert [o['name'] for o in objs] == ['ship', 'harbor', 'small-vehicle']
    assert [o['difficult'] for o in objs] == [0, 1, 0]
    assert [o['line'] for o in objs] == [3, 4, 6]
    assert objs[0]['poly'] == [10, 20, 50, 20, 50, 40, 10, 40]


def test_write_then_parse_round_trip(tmp_path):
    objs = [dict(poly=[1.25, 2, 3, 4, 5, 6, 7, 8.5], name='3', difficult=0), dict(poly=list(range(8)), name='x',
                                                                                     difficult=1)]
    write_dota_file(str(tmp_path / 'a.txt'), objs)
    back = parse_dota_file(str(tmp_path / 'a.txt'))
    assert [(o['poly'], o['name'], o['difficult']) for o in back] == [(o['poly'], o['name'], o['difficult'])
                                                                      for o in objs]
    with pytest.raises(ValueError, match='spaces'):
        format_dota_line(range(8), 'Ankle boot')


def test_dataset_reads_dota_folder_into_le90_boxes(tmp_path):
    root = _folder(tmp_path / 'dota', {'P0001': P0001, 'P0002': ''})
    ds = DOTADataset(data_root=root, lazy_init=False)
    assert len(ds) == 2 and ds.metainfo['classes'][6] == 'ship'
    info = ds.get_data_info(0)
    assert info['img_id'] == 'P0001' and info['img_path'] == os.path.join(root, 'images', 'P0001.png')
    ship, harbor, car = info['instances']
    np.testing.assert_allclose(ship['bbox'], [30, 30, 40, 20, 0], atol=1e-12)
    np.testing.assert_allclose(harbor['bbox'], [110, 130, 60, 20, -math.pi / 2], atol=1e-12)  # standing
    assert (ship['bbox_label'], harbor['bbox_label'], car['bbox_label']) == (6, 12, 4)
    assert (ship['ignore_flag'], harbor['ignore_flag']) == (0, 1)
    assert ds.get_cat_ids(0) == [6, 12, 4]
    assert ds.get_data_info(1)['instances'] == []
    # filter_empty_gt drops the image without objects (train only)
    assert len(DOTADataset(data_root=root, filter_cfg=dict(filter_empty_gt=True))) == 1
    assert len(DOTADataset(data_root=root, filter_cfg=dict(filter_empty_gt=True), test_mode=True)) == 2


def test_hrsc2016_style_folder_with_bmp_images_and_one_class(tmp_path):
    root = _folder(tmp_path / 'hrsc', {'100000001': '10 10 90 30 85 50 5 30 ship 0\n'}, suffix='.bmp')
    ds = DATASETS.build(dict(type='DOTADataset', data_root=root, metainfo=dict(classes=('ship',))))
    (inst,) = ds.get_data_info(0)['instances']
    assert ds.get_data_info(0)['img_path'].endswith('100000001.bmp') and inst['bbox_label'] == 0
    assert inst['bbox'][2] >= inst['bbox'][3] and -math.pi / 2 <= inst['bbox'][4] < math.pi / 2


def _error(tmp_path, text, **kwargs):
    root = _folder(tmp_path / 'bad', {'P0009': text})
    with pytest.raises(ValueError) as info:
        DOTADataset(data_root=root, **kwargs)
    return str(info.value)


def test_malformed_line_names_file_and_line(tmp_path):
    msg = _error(tmp_path, 'gsd:0.1\n10 20 50 20 50 40 10 40 ship 0\n10 20 50 20 fifty 40 10 40 ship 0\n')
    assert 'P0009.txt, line 3' in msg and 'malformed' in msg and 'fifty' in msg
    msg = _error(tmp_path, '10 20 50 20 50 40 10 40 ship 0 extra\n')
    assert 'P0009.txt, line 1' in msg and '11 fields' in msg
    msg = _error(tmp_path, '10 20 50 20 50 40 10 40 ship 2\n')
    assert 'line 1' in msg and 'difficult must be 0 or 1' in msg


def test_polygon_with_fewer_than_four_points(tmp_path):
    msg = _error(tmp_path, '10 20 50 20 50 40 10 40 ship 0\n10 20 50 20 50 40 ship 0\n')
    assert 'P0009.txt, line 2' in msg and 'polygon of 3 points' in msg and '4 points' in msg


def test_zero_area_box(tmp_path):
    msg = _error(tmp_path, '10 10 20 20 30 30 40 40 ship 0\n')
    assert 'P0009.txt, line 1' in msg and 'zero-area' in msg


def test_unknown_class_is_named_or_skipped_when_asked(tmp_path):
    text = '10 20 50 20 50 40 10 40 ship 0\n10 20 50 20 50 40 10 40 container-crane 0\n'
    msg = _error(tmp_path, text)
    assert "'container-crane'" in msg and 'line 2' in msg and "'ship'" in msg
    root = str(tmp_path / 'bad')
    ds = DOTADataset(data_root=root, skip_unknown_classes=True)
    assert [i['bbox_label'] for i in ds.get_data_info(0)['instances']] == [6]


def test_missing_image_and_bad_convention(tmp_path):
    root = _folder(tmp_path / 'noimg', {'P0001': P0001})
    os.remove(os.path.join(root, 'images', 'P0001.png'))
    with pytest.raises(FileNotFoundError, match='no image for label file P0001.txt'):
        DOTADataset(data_root=root)
    with pytest.raises(ValueError, match="unknown angle convention 'le135'"):
        DOTADataset(data_root=root, angle_convention='le135')


def test_pipeline_packs_rboxes_and_puts_difficult_in_ignored_instances(tmp_path):
    root = _folder(tmp_path / 'dota', {'P0001': P0001})
    ds = DOTADataset(data_root=root, pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadRotatedAnnotations'),
                                               dict(type='PackRotatedDetInputs')])
    out = ds[0]
    assert out['inputs'].shape == (3, 200, 200)
    gt, ignored = out['data_samples'].gt_instances, out['data_samples'].ignored_instances
    assert gt.bboxes.dtype == torch.float32 and gt.bboxes.shape == (2, 5)
    torch.testing.assert_close(gt.bboxes[0], torch.tensor([30., 30., 40., 20., 0.]))
    assert gt.labels.tolist() == [6, 4]
    assert ignored.bboxes.shape == (1, 5) and ignored.labels.tolist() == [12]
    assert out['data_samples'].img_id == 'P0001'


def test_transforms_are_registered_and_refuse_wrong_boxes():
    assert TRANSFORMS.get('LoadRotatedAnnotations') is LoadRotatedAnnotations
    assert TRANSFORMS.get('PackRotatedDetInputs') is PackRotatedDetInputs
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(TypeError, match='LoadRotatedAnnotations'):  # mmdet's LoadAnnotations output
        PackRotatedDetInputs()(dict(img=img, gt_bboxes=np.zeros((2, 4), np.float32)))
    from mmdet.structures.bbox import HorizontalBoxes
    with pytest.raises(TypeError, match='HorizontalBoxes'):
        PackRotatedDetInputs()(dict(img=img, gt_bboxes=HorizontalBoxes(torch.zeros(1, 4))))
    with pytest.raises(ValueError, match=r'outside \[-pi/2, pi/2\)'):
        LoadRotatedAnnotations()(dict(img_path='x.png', instances=[dict(bbox=[1, 1, 4, 2, 2.0], bbox_label=0)]))
    out = LoadRotatedAnnotations()(dict(instances=[]))
    assert out['gt_bboxes'].shape == (0, 5) and out['gt_bboxes_labels'].shape == (0,)

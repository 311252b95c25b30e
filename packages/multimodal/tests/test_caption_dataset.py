"""CaptionDataset / CocoCaptionDataset / PackCaptionInputs / CaptionGridHook on hand-made data."""
import json

import cv2
import numpy as np
import pytest

from tessera_multimodal.datasets import CaptionDataset, PackCaptionInputs
from tessera_multimodal.engine import CaptionGridHook
from tessera_multimodal.registry import DATASETS


@DATASETS.register_module(force=True)
class _LevelledToy:
    metainfo = dict(caption_levels=('short', 'medium', 'long'))

    def __init__(self, pipeline=()):
        pass

    def __len__(self):
        return 2

    def get_data_info(self, i):
        return dict(img=np.full((8, 8, 3), i, np.uint8), sample_idx=i,
                    captions=dict(short=f's{i}', medium=f'm{i}', long=f'l{i}'))


def test_levels_expand_with_length_level():
    ds = CaptionDataset(dict(type='_LevelledToy'), pipeline=[dict(type='PackCaptionInputs')])
    assert len(ds) == 6
    metas = [ds[k]['data_samples'].metainfo for k in range(6)]
    assert [(m['caption'], m['length_level'], m['gt_captions']) for m in metas[:3]] == [
        ('s0', 0, ['s0']), ('m0', 1, ['m0']), ('l0', 2, ['l0'])]
    only_long = CaptionDataset(dict(type='_LevelledToy'), levels=['long'])
    assert [only_long.get_data_info(k)['length_level'] for k in range(2)] == [2, 2]
    with pytest.raises(ValueError, match=r"\['huge'\].*valid: \('short', 'medium', 'long'\)"):
        CaptionDataset(dict(type='_LevelledToy'), levels=['huge'])
    assert len(CaptionDataset(dict(type='_LevelledToy'), indices=4)) == 4


def test_coco_json(tmp_path):
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((6, 5, 3), np.uint8))
    ann = dict(images=[dict(id=1, file_name='a.png'), dict(id=2, file_name='missing.png')],
               annotations=[dict(id=10, image_id=1, caption='A cat.'), dict(id=11, image_id=1, caption='A pet.'),
                            dict(id=12, image_id=2, caption='A dog.')])
    path = tmp_path / 'captions.json'
    path.write_text(json.dumps(ann))
    coco = dict(type='CocoCaptionDataset', ann_file=str(path), img_root=str(tmp_path))
    train = CaptionDataset(coco, pipeline=[PackCaptionInputs()])
    assert len(train) == 3
    m = train[1]['data_samples'].metainfo
    assert m['caption'] == 'A pet.' and m['gt_captions'] == ['A cat.', 'A pet.'] and m['image_id'] == 1
    assert train[0]['inputs'].shape == (3, 6, 5)
    test = CaptionDataset(coco, expand_captions=False)
    assert len(test) == 2
    with pytest.raises(FileNotFoundError, match=r"image id 2 .*missing\.png"):
        test[1]


def test_caption_grid_hook_writes_png(tmp_path):
    import torch
    hook = CaptionGridHook(num_images=3, cols=2)
    batch = dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)] * 2)
    hook._collect(batch, [dict(pred_caption='a cat', gt_captions=['a cat'], length_level=1),
                          dict(pred_caption='a dog', gt_captions=['a pet'])])
    assert len(hook._items) == 2
    out = hook.write(str(tmp_path / 'grid.png'))
    assert cv2.imread(out) is not None

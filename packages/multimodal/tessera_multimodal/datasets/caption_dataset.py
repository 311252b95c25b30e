"""Caption datasets for captioners: one item per (image, caption), references and length level attached.

:class:`CaptionDataset` wraps any image dataset whose items carry captions (``CaptionedDigits``: ``caption``;
``StampScenes``: ``captions`` per level; :class:`CocoCaptionDataset`: ``captions`` list) and yields items with

* ``caption`` (str): the training target,
* ``gt_captions`` (list[str]): the references the metric compares with,
* ``length_level`` (int, when the source has levels): index into ``levels`` (StampScenes: 0 short, 1 medium,
  2 long), as LaBERT's length levels.

================  =========================================================================================
source item       items made (``expand_captions=True`` | ``False``)
================  =========================================================================================
``caption`` str   one: caption = gt = that caption
``captions`` dict one per level in ``levels``: caption = that level's, gt = [it], ``length_level`` = level index
``captions`` list one per caption, gt = all captions | one per image, caption = the first, gt = all
================  =========================================================================================

:class:`CocoCaptionDataset` reads COCO-captions or Karpathy-split json (:mod:`caption_json`) and images from
``img_root``.
"""
import os.path as osp
from typing import List, Optional, Sequence, Union

import cv2
from mmengine.dataset import Compose

from tessera_multimodal.registry import DATASETS, TRANSFORMS

from .caption_json import read_coco_captions, read_karpathy_split


@DATASETS.register_module()
class CaptionDataset:
    """Args:
        dataset (dict): The image dataset config (its own ``pipeline`` is replaced by ``[]``).
        levels (Sequence[str], optional): Caption levels used for ``captions`` dicts (default: all, sorted as the
            dataset's ``metainfo['caption_levels']`` or the dict order).
        expand_captions (bool): For ``captions`` lists, one item per caption (training) or per image (testing).
        indices (int | Sequence[int], optional): Keep the first ``n`` items, or these items.
        pipeline (list): Transforms applied to each item.
    """

    def __init__(self, dataset: dict, levels: Optional[Sequence[str]] = None, expand_captions: bool = True,
                 indices: Optional[Union[int, Sequence[int]]] = None, pipeline: Sequence = (),
                 lazy_init: bool = False):
        cfg = dict(dataset)
        cfg['pipeline'] = []
        self.dataset = DATASETS.build(cfg)
        self.expand_captions = expand_captions
        all_levels = tuple(self.dataset.metainfo.get('caption_levels', ()) or ())
        if levels is not None:
            bad = [lv for lv in levels if all_levels and lv not in all_levels]
            if bad:
                raise ValueError(f'caption levels {bad} are not levels of {cfg.get("type")}; valid: {all_levels}')
        self.levels = tuple(levels) if levels is not None else all_levels
        self.all_levels = all_levels
        self.items = []
        for i in range(len(self.dataset)):
            info = self.dataset.get_data_info(i)
            caps = info.get('captions')
            if isinstance(caps, dict):
                levels_here = self.levels or tuple(caps)
                for lv in levels_here:
                    if lv not in caps:
                        raise KeyError(f'item {i} of {cfg.get("type")} has no caption level {lv!r}; it has {sorted(caps)}')
                    self.items.append((i, lv, None))
            elif isinstance(caps, (list, tuple)):
                if not caps:
                    continue
                if expand_captions:
                    self.items.extend((i, None, j) for j in range(len(caps)))
                else:
                    self.items.append((i, None, 0))
            elif isinstance(info.get('caption'), str):
                self.items.append((i, None, None))
            else:
                raise KeyError(f'item {i} of {cfg.get("type")} has neither a caption (str) nor captions')
        if indices is not None:
            keep = range(min(int(indices), len(self.items))) if isinstance(indices, int) else indices
            self.items = [self.items[k] for k in keep]
        self.pipeline = Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline])

    @property
    def metainfo(self) -> dict:
        meta = dict(getattr(self.dataset, 'metainfo', {}) or {})
        meta.update(caption_levels=self.levels)
        return meta

    def __len__(self) -> int:
        return len(self.items)

    def get_data_info(self, idx: int) -> dict:
        i, level, j = self.items[idx]
        info = dict(self.dataset.get_data_info(i))
        caps = info.get('captions')
        if level is not None:
            info['caption'] = caps[level]
            info['gt_captions'] = [caps[level]]
            order = self.all_levels or tuple(caps)
            info['length_level'] = order.index(level)
            info['caption_level'] = level
        elif j is not None:
            info['caption'] = caps[j]
            info['gt_captions'] = list(caps)
        else:
            info['gt_captions'] = [info['caption']]
        info['image_idx'] = i
        info['sample_idx'] = idx
        if 'img' not in info and hasattr(self.dataset, 'load_image'):
            self.dataset.load_image(info)
        return info

    def __getitem__(self, idx: int) -> dict:
        return self.pipeline(self.get_data_info(idx))


@DATASETS.register_module()
class CocoCaptionDataset:
    """Images + captions from a COCO-captions json (``format='coco'``) or a Karpathy-split json
    (``format='karpathy'``, ``splits``). Items: ``img`` (H, W, 3) uint8 RGB, ``captions``, ``image_id``, ``img_path``.

    Args:
        ann_file (str), img_root (str): The json and the folder the ``file_name`` paths are relative to.
        format (str): ``'coco'`` or ``'karpathy'``. splits: Karpathy splits to keep.
        pipeline (list): Transforms.
    """
    FORMATS = ('coco', 'karpathy')

    def __init__(self, ann_file: str, img_root: str = '', format: str = 'coco',
                 splits: Optional[Union[str, Sequence[str]]] = None, pipeline: Sequence = ()):
        if format not in self.FORMATS:
            raise ValueError(f'format={format!r} is not one of {self.FORMATS}')
        self.records = read_coco_captions(ann_file) if format == 'coco' else read_karpathy_split(ann_file, splits)
        self.ann_file, self.img_root = ann_file, img_root
        self.pipeline = Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline])

    metainfo: dict = {}

    def __len__(self) -> int:
        return len(self.records)

    def get_data_info(self, idx: int) -> dict:
        rec = self.records[idx]
        path = osp.join(self.img_root, rec['file_name'])
        info = dict(image_id=rec['image_id'], img_path=path, captions=list(rec['captions']), sample_idx=idx)
        return info

    def load_image(self, info: dict) -> dict:
        img = cv2.imread(info['img_path'], cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f'{self.ann_file}: image id {info["image_id"]!r} has no readable image at '
                                    f'{info["img_path"]!r}')
        info['img'] = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        info['img_shape'] = info['img'].shape[:2]
        return info

    def __getitem__(self, idx: int) -> dict:
        return self.pipeline(self.load_image(self.get_data_info(idx)))

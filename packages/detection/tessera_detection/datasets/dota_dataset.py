"""A dataset of oriented objects in DOTA's folder layout (DOTA v1.x, HRSC2016 converted, rotated canvases).

::

    data_root/
      images/P0001.png ...        (any of ``img_suffixes``)
      labelTxt/P0001.txt ...      DOTA text format, see :mod:`.dota_format`

Every polygon becomes a rotated box ``(cx, cy, w, h, angle)`` in the ``le90``
convention (:mod:`tessera_detection.structures.rotated_box`). Each data info is::

    dict(img_path, img_id=<file stem>, seg_map_path=None,
         instances=[dict(bbox=[cx, cy, w, h, angle], bbox_label=int,
                         ignore_flag=difficult, polygon=[x1, ..., y4]), ...])

which :class:`~tessera_detection.datasets.transforms.LoadRotatedAnnotations`
turns into ``gt_bboxes`` ``(N, 5)``; ``difficult`` objects are
``ignore_flag=1``, so ``PackRotatedDetInputs`` puts them in
``ignored_instances`` and the DOTA metric ignores them as the devkit does.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from tessera_detection.registry import DATASETS
from tessera_detection.structures import poly2rbox
from tessera_detection.structures.rotated_box import check_convention

from .dota_format import parse_dota_file

DOTA_V1_CLASSES = ('plane', 'baseball-diamond', 'bridge', 'ground-track-field', 'small-vehicle', 'large-vehicle',
                   'ship', 'tennis-court', 'basketball-court', 'storage-tank', 'soccer-ball-field', 'roundabout',
                   'harbor', 'swimming-pool', 'helicopter')
DOTA_V1_PALETTE = [(165, 42, 42), (189, 183, 107), (0, 255, 0), (255, 0, 0), (138, 43, 226), (255, 128, 0),
                   (255, 0, 255), (0, 255, 255), (255, 193, 193), (0, 51, 153), (255, 250, 205), (0, 139, 139),
                   (255, 255, 0), (147, 116, 116), (0, 0, 255)]


@DATASETS.register_module()
class DOTADataset(BaseDataset):
    """Oriented objects from ``images/`` + ``labelTxt/`` folders (module docstring).

    Args:
        data_root (str): Folder holding the two subfolders. ``~`` is expanded.
        ann_file (str): Folder of the label files, relative to ``data_root``.
        data_prefix (dict): ``dict(img_path=...)``, the image folder.
        img_suffixes (Sequence[str]): Image extensions tried for every label
            file's stem, in order (DOTA ``.png``, HRSC2016 ``.bmp``).
        angle_convention (str): Only ``'le90'``.
        skip_unknown_classes (bool): Drop objects whose class is not in
            ``metainfo['classes']`` (to train on a subset of DOTA's classes);
            by default such a class is an error naming it, the file and the line.
        metainfo (dict, optional): ``dict(classes=(...))``, default DOTA v1.0's
            15 classes; HRSC2016: ``dict(classes=('ship',))``.
        filter_cfg (dict, optional): ``dict(filter_empty_gt=True)`` drops images
            without objects (train only).
        **kwargs: The rest of :class:`mmengine.dataset.BaseDataset`.
    """
    METAINFO = dict(classes=DOTA_V1_CLASSES, palette=DOTA_V1_PALETTE)

    def __init__(self, data_root: str = '', ann_file: str = 'labelTxt/',
                 data_prefix: Optional[dict] = None, img_suffixes: Sequence[str] = ('.png', '.jpg', '.bmp', '.tif'),
                 angle_convention: str = 'le90', skip_unknown_classes: bool = False, **kwargs):
        check_convention(angle_convention)
        self.img_suffixes = tuple(img_suffixes)
        self.angle_convention = angle_convention
        self.skip_unknown_classes = bool(skip_unknown_classes)
        super().__init__(data_root=osp.expanduser(data_root) if data_root else '', ann_file=ann_file,
                         data_prefix=data_prefix or dict(img_path='images/'), **kwargs)

    def _find_image(self, stem: str) -> str:
        folder = self.data_prefix['img_path']
        for suffix in self.img_suffixes:
            path = osp.join(folder, stem + suffix)
            if osp.isfile(path):
                return path
        raise FileNotFoundError(f'no image for label file {stem}.txt: tried {stem}{{{",".join(self.img_suffixes)}}} '
                                f'in {folder}')

    def load_data_list(self) -> List[dict]:
        ann_dir = self.ann_file
        if not osp.isdir(ann_dir):
            raise FileNotFoundError(f'{ann_dir} is not a folder of DOTA label files (data_root/labelTxt/)')
        classes = tuple(self.metainfo['classes'])
        cat2label = {name: i for i, name in enumerate(classes)}
        data_list = []
        for name in sorted(os.listdir(ann_dir)):
            if not name.endswith('.txt'):
                continue
            stem, path = name[:-4], osp.join(ann_dir, name)
            objects = []
            for obj in parse_dota_file(path):
                if obj['name'] not in cat2label:
                    if self.skip_unknown_classes:
                        continue
                    raise ValueError(f'{path}, line {obj["line"]}: class {obj["name"]!r} is not in the dataset\'s '
                                     f'metainfo classes {classes} (skip_unknown_classes=True drops such objects)')
                objects.append(obj)
            rboxes = self._rboxes(objects, path)
            instances = [dict(bbox=rbox.tolist(), bbox_label=cat2label[obj['name']], ignore_flag=int(obj['difficult']),
                              polygon=obj['poly']) for obj, rbox in zip(objects, rboxes)]
            data_list.append(dict(img_path=self._find_image(stem), img_id=stem, seg_map_path=None,
                                  instances=instances))
        return data_list

    def _rboxes(self, objects: List[dict], path: str) -> np.ndarray:
        """``le90`` boxes of a file's objects (all at once; on an error, the first bad line is named)."""
        try:
            return poly2rbox(np.array([o['poly'] for o in objects]).reshape(-1, 8), self.angle_convention)
        except ValueError:
            for obj in objects:
                try:
                    poly2rbox(np.array(obj['poly']), self.angle_convention)
                except ValueError as err:
                    raise ValueError(f'{path}, line {obj["line"]}: {err}') from None
            raise

    def filter_data(self) -> List[dict]:
        if self.test_mode or not (self.filter_cfg or {}).get('filter_empty_gt', False):
            return self.data_list
        return [info for info in self.data_list if info['instances']]

    def get_cat_ids(self, idx: int) -> List[int]:
        return [inst['bbox_label'] for inst in self.get_data_info(idx)['instances']]

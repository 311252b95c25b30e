"""MSMT17 list files: ``list_train.txt``, ``list_val.txt``, ``list_query.txt``, ``list_gallery.txt``.

MSMT17 (Wei, Zhang, Gao, Tian, "Person Transfer GAN to Bridge Domain Gap for Person Re-Identification",
CVPR 2018, arXiv:1711.08565): 4,101 identities from 15 cameras; 1,041 training identities (32,621 images in
``list_train.txt`` + ``list_val.txt``), 11,659 queries and 82,161 gallery images. Each list line is
``<relative path> <pid>``, the path relative to ``train/`` (train, val) or ``test/`` (query, gallery), e.g.
``0000/0000_000_01_0303morning_0015_0.jpg 0``. The file name is ``PPPP_NNN_CC_<date><time of day>_SSSS_K.jpg``;
as in torchreid's ``MSMT17`` the camera is its third field (01-15, made 0-based) and the identity the list's
second column (checked against the name's ``PPPP``). ``list_val.txt`` joins training only with
``use_val=True`` (torchreid's ``combineall``; published results train on ``list_train.txt`` alone).
MSMT17_V2 stores its images under ``mask_train_v2/`` and ``mask_test_v2/``: set ``train_dir`` / ``test_dir``.
Nothing is downloaded.
"""
import os.path as osp
import re
from typing import List

from tessera_reid.registry import DATASETS

from .file_reid_dataset import FileReIDDataset

FILENAME_PATTERN = re.compile(r'^(\d{4})_(\d+)_(\d{2})_(\d{4}[a-z]+)_(\d+)_(\d+)\.jpg$')
FILENAME_FORMAT = 'PPPP_NNN_CC_<MMDD><morning|noon|afternoon>_SSSS_K.jpg (e.g. 0000_000_01_0303morning_0015_0.jpg)'
NUM_CAMERAS = 15


def parse_msmt_name(path: str):
    """``(pid, camid (1-based))`` of an MSMT17 file name; errors name the file."""
    m = FILENAME_PATTERN.match(osp.basename(path))
    if m is None:
        raise ValueError(f'{path}: not an MSMT17 image name; expected {FILENAME_FORMAT}')
    pid, cam = int(m.group(1)), int(m.group(3))
    if not 1 <= cam <= NUM_CAMERAS:
        raise ValueError(f'{path}: MSMT17 cameras are 01..{NUM_CAMERAS}, got {m.group(3)}')
    return pid, cam


def read_msmt_list(list_path: str, image_dir: str) -> List[dict]:
    """Items ``img_path``, ``pid``, ``camid`` (0-based) of one list file; errors name the file and line."""
    if not osp.isfile(list_path):
        raise FileNotFoundError(f'{list_path} not found: an MSMT17 data_root holds list_train.txt, list_val.txt, '
                                'list_query.txt, list_gallery.txt and the train/ and test/ folders (the '
                                'official release; nothing is downloaded)')
    items = []
    with open(list_path) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 2 or not fields[1].isdigit():
                raise ValueError(f'{list_path}:{line_no}: expected "<relative image path> <pid>", got {line.strip()!r}')
            rel_path, pid = fields[0], int(fields[1])
            name_pid, cam = parse_msmt_name(f'{list_path}:{line_no}: {rel_path}')
            if name_pid != pid:
                raise ValueError(f'{list_path}:{line_no}: {rel_path} is named for identity {name_pid} but listed '
                                 f'as {pid}')
            items.append(dict(img_path=osp.join(image_dir, rel_path), pid=pid, camid=cam - 1))
    if not items:
        raise ValueError(f'{list_path} lists no images')
    return items


@DATASETS.register_module()
class MSMT17(FileReIDDataset):
    """MSMT17-format re-ID dataset.

    Args:
        data_root (str): Folder holding the four list files and the image folders.
        split (str): ``'train'`` (relabelled ids), ``'query'``, ``'gallery'`` or ``'test'`` (query followed by
            gallery, the evaluation set of :class:`ReIDMetric`).
        use_val (bool): Add ``list_val.txt`` to training.
        train_dir, test_dir (str): Image folders of the train/val and query/gallery lists.
        pipeline (list[dict]): Transforms, starting with ``dict(type='LoadImageFromFile')``.

    Items: ``img_path``, ``gt_label`` (identity; relabelled for train), ``pid``, ``camid`` (0-based), ``is_query``.
    """
    SPLITS = dict(train=('list_train.txt',), query=('list_query.txt',), gallery=('list_gallery.txt',),
                  test=('list_query.txt', 'list_gallery.txt'))   # the list files of each split
    METAINFO = dict(dataset_name='MSMT17')

    def __init__(self, data_root: str, split: str = 'train', use_val: bool = False, train_dir: str = 'train',
                 test_dir: str = 'test', **kwargs):
        self.use_val, self.train_dir, self.test_dir = use_val, train_dir, test_dir
        super().__init__(data_root=data_root, split=split, **kwargs)

    def load_items(self) -> List[dict]:
        lists = self.SPLITS[self.split] + (('list_val.txt',) if self.split == 'train' and self.use_val else ())
        items = []
        for name in lists:
            image_dir = osp.join(self.data_root, self.train_dir if name in ('list_train.txt', 'list_val.txt')
                                 else self.test_dir)
            for item in read_msmt_list(osp.join(self.data_root, name), image_dir):
                item['is_query'] = name == 'list_query.txt'
                items.append(item)
        return items

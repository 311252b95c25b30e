"""Market-1501 folders: ``bounding_box_train/``, ``query/`` and ``bounding_box_test/``.

Market-1501 (Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015). Nothing is
downloaded: ``data_root`` must hold the three folders of the official release. Every image is named
``PPPP_cXsY_FFFFFF_NN.jpg``: person id ``PPPP`` (``0000`` distractors, ``-1`` junk), camera ``X``, video
sequence ``Y``, frame ``FFFFFF`` and detection box ``NN``. As in the re-ID strong baseline
(``data/datasets/market1501.py``) junk images (id -1) are skipped, camera ids become 0-based and training
ids are relabelled to 0..P-1; other files than ``*.jpg`` (e.g. the release's ``Thumbs.db``) are ignored.
"""
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

from tessera_reid.registry import DATASETS

from .file_reid_dataset import FileReIDDataset

FILENAME_PATTERN = re.compile(r'^(-1|\d{4})_c(\d)s(\d)_(\d{6})_(\d{2})\.jpg$')
FILENAME_FORMAT = 'PPPP_cXsY_FFFFFF_NN.jpg (e.g. 0002_c1s1_000451_03.jpg, or -1_c1s1_000401_03.jpg for junk)'


def parse_market_name(path: str):
    """``(pid, camid (1-based), sequence, frame, box)`` of a Market-1501 file name; errors name the file."""
    name = osp.basename(path)
    m = FILENAME_PATTERN.match(name)
    if m is None:
        raise ValueError(f'{path}: not a Market-1501 image name; expected {FILENAME_FORMAT}')
    pid, cam, seq, frame, box = (int(g) for g in m.groups())
    if cam < 1:
        raise ValueError(f'{path}: camera ids start at c1, got c{cam}')
    return pid, cam, seq, frame, box


@DATASETS.register_module()
class Market1501(FileReIDDataset):
    """Market-1501-format re-ID dataset.

    Args:
        data_root (str): Folder holding ``bounding_box_train``, ``query`` and ``bounding_box_test``.
        split (str): ``'train'`` (relabelled ids), ``'query'``, ``'gallery'`` or ``'test'`` (query followed by
            gallery, the evaluation set of :class:`ReIDMetric`).
        pipeline (list[dict]): Transforms, starting with ``dict(type='LoadImageFromFile')``.

    Items: ``img_path``, ``gt_label`` (identity; relabelled for train), ``pid`` (original id), ``camid``
    (0-based), ``is_query``.
    """
    SPLITS = dict(train=('bounding_box_train',), query=('query',), gallery=('bounding_box_test',),
                  test=('query', 'bounding_box_test'))   # the folders of each split
    METAINFO = dict(dataset_name='Market-1501')

    DATASET_NAME = 'Market-1501'
    NAME_FORMAT = FILENAME_FORMAT

    def _parse(self, img_path: str) -> Optional[Tuple[int, int]]:
        """``(pid, camid (1-based))`` of an image file name, None for a junk image (pid -1)."""
        pid, cam, _, _, _ = parse_market_name(img_path)
        return None if pid == -1 else (pid, cam)

    def _scan(self, folder: str) -> List[dict]:
        path = osp.join(self.data_root, folder)
        if not osp.isdir(path):
            raise FileNotFoundError(
                f'{path} not found: a {self.DATASET_NAME} data_root holds bounding_box_train/, query/ and '
                'bounding_box_test/ (the official release; nothing is downloaded)')
        items = []
        for name in sorted(os.listdir(path)):
            if not name.lower().endswith('.jpg'):
                continue
            img_path = osp.join(path, name)
            parsed = self._parse(img_path)
            if parsed is None:
                continue
            pid, cam = parsed
            items.append(dict(img_path=img_path, pid=pid, camid=cam - 1, is_query=folder == 'query'))
        if not items:
            raise ValueError(f'{path} holds no {self.DATASET_NAME} images ({self.NAME_FORMAT})')
        return items

    def load_items(self) -> List[dict]:
        return [item for folder in self.SPLITS[self.split] for item in self._scan(folder)]

"""Base of the re-ID readers of released benchmarks on disk (Market-1501, DukeMTMC-reID, MSMT17).

A reader says where each split's images come from (``SPLITS``: split -> its folders or list files, read in
that order) and reads them (:meth:`FileReIDDataset.load_items`: items ``img_path``, ``pid``, ``camid``
(0-based), ``is_query``; its errors name the bad file). This base checks the split and adds what every
reader shares: ``gt_label`` (training ids relabelled to 0..P-1 in sorted pid order, as the re-ID strong
baseline and torchreid do; the original pid elsewhere), ``sample_idx``, ``metainfo['num_ids']`` and
:meth:`get_gt_labels` (for the PK samplers).
"""
from typing import Dict, List, Tuple

import numpy as np
from mmengine.dataset import BaseDataset


class FileReIDDataset(BaseDataset):
    """Re-ID dataset read from files; subclasses set ``SPLITS`` and implement :meth:`load_items`.

    Args:
        data_root (str): Folder of the release.
        split (str): A key of ``SPLITS``: ``'train'`` (relabelled ids), ``'query'``, ``'gallery'`` or
            ``'test'`` (query followed by gallery, the evaluation set of :class:`ReIDMetric`).
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (``pipeline``, ``lazy_init``, ...).
    """
    SPLITS: Dict[str, Tuple[str, ...]] = {}

    def __init__(self, data_root: str, split: str = 'train', **kwargs):
        if split not in self.SPLITS:
            raise ValueError(f'invalid split {split!r}; valid: {sorted(self.SPLITS)}')
        self.split = split
        super().__init__(data_root=data_root, **kwargs)

    def load_items(self) -> List[dict]:
        """Items of ``self.split`` (``img_path``, ``pid``, ``camid``, ``is_query``), in ``SPLITS`` order; each
        reader (Market1501, MSMT17) defines it."""
        raise NotImplementedError(f'{type(self).__name__} must define load_items() (the reader of its format)')

    def load_data_list(self) -> List[dict]:
        items = self.load_items()
        if self.split == 'train':
            pid2label = {pid: label for label, pid in enumerate(sorted({i['pid'] for i in items}))}
            for item in items:
                item['gt_label'] = pid2label[item['pid']]
        else:
            for item in items:
                item['gt_label'] = item['pid']
        self._metainfo['num_ids'] = len({i['pid'] for i in items})
        for idx, item in enumerate(items):
            item['sample_idx'] = idx
        return items

    def get_gt_labels(self) -> np.ndarray:
        """(N,) int64 identity label of every item."""
        return np.array([self.get_data_info(i)['gt_label'] for i in range(len(self))], dtype=np.int64)

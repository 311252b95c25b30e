"""Base class for classification datasets held in memory as one uint8 array."""
from typing import List

import numpy as np
from mmengine.dataset import BaseDataset


class InMemoryImageDataset(BaseDataset):
    """A dataset of ``images`` (N, H, W[, C]) uint8 and ``labels`` (N,) int.

    Subclasses implement :meth:`load_arrays`. Each item is ``dict(img, gt_label,
    sample_idx, img_shape)`` passed through the ``pipeline``.
    """

    def __init__(self, *args, serialize_data: bool = False, **kwargs):
        self.images = None
        self.labels = None
        super().__init__(*args, serialize_data=serialize_data, **kwargs)

    def load_arrays(self):
        """Return ``(images, labels)``."""
        raise TypeError(f'{type(self).__name__} must override load_arrays()')

    def load_data_list(self) -> List[dict]:
        images, labels = self.load_arrays()
        if len(images) != len(labels):
            raise ValueError(f'{type(self).__name__}: {len(images)} images but {len(labels)} labels')
        self.images = np.ascontiguousarray(images, dtype=np.uint8)
        self.labels = np.asarray(labels, dtype=np.int64)
        return [dict(sample_idx=i, gt_label=int(label)) for i, label in enumerate(self.labels)]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['img'] = self.images[info['sample_idx']]
        info['img_shape'] = info['img'].shape[:2]
        return info

    def get_gt_labels(self) -> np.ndarray:
        return np.array([self.get_data_info(i)['gt_label'] for i in range(len(self))])

"""Fashion-MNIST at 16 px with the exact split of the tabular benchmark ``fmnist16-nb201-v1``.

The table (``benchmarks/build_tabular_benchmark.py``) permutes the 60,000 official training images
with ``np.random.RandomState(split_seed)``; the first ``num_train`` are its training set, the next
``num_valid`` its validation set; its test set is the first ``num_test`` official test images. Images
are resized 28 -> 16 px (bilinear, antialiased, on [0, 1] floats). Here the resized images are
stored as uint8 (rounding error <= 0.5 / 255) so that they flow through the ordinary
``PackClsInputs`` pipeline; standardise them in the data preprocessor with the table's
``norm_mean * 255`` / ``norm_std * 255`` (73.17 / 82.31) to reproduce the table's inputs.
"""
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F
from tessera_core.datasets.mnist_idx import FASHION_MNIST_ROOT, FashionMNIST

from tessera_nas.registry import DATASETS

__all__ = ['TableSplitFashionMNIST', 'table_split_indices']

TABLE_SPLITS = ('train', 'valid', 'test')


def table_split_indices(table_split: str, split_seed: int = 0, num_train: int = 6000, num_valid: int = 4000,
                        num_test: int = 6000, num_official_train: int = 60000) -> np.ndarray:
    """Indices into the official file (train file for ``train`` / ``valid``, test file for ``test``)."""
    if table_split not in TABLE_SPLITS:
        raise ValueError(f'table_split must be one of {list(TABLE_SPLITS)}, got {table_split!r}')
    if table_split == 'test':
        return np.arange(num_test)
    perm = np.random.RandomState(split_seed).permutation(num_official_train)
    return perm[:num_train] if table_split == 'train' else perm[num_train:num_train + num_valid]


@DATASETS.register_module()
class TableSplitFashionMNIST(FashionMNIST):
    """The tabular benchmark's train / valid / test split of Fashion-MNIST, resized to ``size``.

    Args:
        table_split (str): ``'train'``, ``'valid'`` or ``'test'``.
        data_root (str): Fashion-MNIST IDX folder (Debian's ``dataset-fashion-mnist``).
        split_seed, num_train, num_valid, num_test: The table's recipe (defaults: fmnist16-nb201-v1).
        size (int): Output side (16).
    """

    def __init__(self, table_split: str = 'train', data_root: str = FASHION_MNIST_ROOT, split_seed: int = 0,
                 num_train: int = 6000, num_valid: int = 4000, num_test: int = 6000, size: int = 16, **kwargs):
        if table_split not in TABLE_SPLITS:
            raise ValueError(f'table_split must be one of {list(TABLE_SPLITS)}, got {table_split!r}')
        self.table_split, self.size = table_split, size
        self.split_kw = dict(split_seed=split_seed, num_train=num_train, num_valid=num_valid, num_test=num_test)
        super().__init__(data_root=data_root, split='test' if table_split == 'test' else 'train', **kwargs)

    def load_arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        images, labels = super().load_arrays()
        idx = table_split_indices(self.table_split, num_official_train=len(images), **self.split_kw)
        if idx.max() >= len(images):
            raise ValueError(f'{self.data_root}: the {self.table_split} split needs image {int(idx.max())}, '
                             f'the file holds {len(images)}')
        x = torch.from_numpy(np.array(images[idx], dtype=np.float32)).div_(255).unsqueeze(1)
        x = F.interpolate(x, size=(self.size, self.size), mode='bilinear', antialias=True, align_corners=False)
        x = (x.squeeze(1) * 255).round().clamp_(0, 255).to(torch.uint8).numpy()
        return x, np.asarray(labels[idx])

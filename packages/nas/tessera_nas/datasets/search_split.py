"""Two disjoint splits of one training set, paired in one dataloader item: the weight split
(trains the supernet weights) and the architecture split (trains the architecture parameters).

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019,
arXiv:1806.09055. Official code: https://github.com/quark0/darts (``cnn/train_search.py``:
``train_portion=0.5``, the first half of the CIFAR-10 training indices feeds ``train_queue`` (weights)
and the second half ``valid_queue`` (architecture), each through a ``SubsetRandomSampler``; at every
weight step a minibatch is drawn from the architecture split). PC-DARTS and P-DARTS split alike.

Item ``i`` is ``dict(weights=dataset[weight_indices[i]], arch=dataset[arch_indices[j]])``: the
sampler walks (and shuffles) the weight split as usual, one epoch is one pass over it, and ``j``
walks through shuffled passes over the architecture split (a fresh permutation each pass, from
numpy's global generator that mmengine seeds), as the P-DARTS ``next(valid_queue_iter)``. The walk
is tessera-core's :class:`~tessera_core.datasets.DomainPairDataset`, which this class specialises.
"""
from typing import Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from tessera_core.datasets import DomainPairDataset

from tessera_nas.registry import DATASETS

__all__ = ['IndexSubset', 'SearchSplitDataset']

SPLITS = ('half',)


class IndexSubset:
    """A read-only view ``dataset[indices[i]]`` of a dataset (items go through its pipeline).

    Args:
        dataset (BaseDataset): The dataset.
        indices (Sequence[int]): Positions in ``dataset``.
    """

    def __init__(self, dataset: BaseDataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    @property
    def metainfo(self) -> dict:
        return dict(getattr(self.dataset, 'metainfo', {}))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, idx: int):
        return self.dataset[int(self.indices[idx])]


def _check_indices(name: str, indices: Sequence[int], size: int) -> np.ndarray:
    array = np.asarray(list(indices))
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f'{name} must be a non-empty list of dataset positions, got {indices!r}')
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f'{name} must hold integer positions, got dtype {array.dtype}')
    bad = array[(array < 0) | (array >= size)]
    if len(bad):
        raise ValueError(f'{name} holds {len(bad)} position(s) outside [0, {size}) of the dataset, '
                         f'e.g. {bad[:5].tolist()}')
    repeated = len(array) - len(np.unique(array))
    if repeated:
        raise ValueError(f'{name} repeats {repeated} position(s)')
    return array.astype(np.int64)


@DATASETS.register_module()
class SearchSplitDataset(DomainPairDataset):
    """``dataset[i] = dict(weights=<item of the weight split>, arch=<next item of the arch split>)``.

    Args:
        dataset (dict | BaseDataset): The training set to split (e.g. ``FashionMNIST`` with
            ``indices=10000`` for its first 10k images). Its metainfo is this dataset's.
        split (str, optional): ``'half'``: the official split, the first ``floor(N / 2)`` positions
            train the weights and the rest the architecture. Exclusive with the index lists.
        weight_indices (Sequence[int], optional): Positions of the weight split.
        arch_indices (Sequence[int], optional): Positions of the architecture split.
        shuffle_arch (bool): Walk the architecture split in a fresh random order each pass
            (official) or in index order (tests).

    Raises:
        ValueError: the two splits share positions (the message says how many), a position is out
            of range or repeated, an unknown ``split`` (valid: ``'half'``), or both/neither of
            ``split`` and the index lists.
    """

    def __init__(self, dataset: Union[dict, BaseDataset], split: Optional[str] = None,
                 weight_indices: Optional[Sequence[int]] = None, arch_indices: Optional[Sequence[int]] = None,
                 shuffle_arch: bool = True):
        base = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if not hasattr(base, '__getitem__') or not hasattr(base, '__len__'):
            raise TypeError(f'dataset must be a dataset or a dataset config dict, got {type(base).__name__}')
        given = (weight_indices is not None, arch_indices is not None)
        if split is not None:
            if any(given):
                raise ValueError('give either split or weight_indices/arch_indices, not both')
            if split not in SPLITS:
                raise ValueError(f'unknown split {split!r}; valid: {list(SPLITS)} '
                                 '(or give weight_indices and arch_indices)')
            half = len(base) // 2
            weight_indices, arch_indices = range(half), range(half, len(base))
        elif not all(given):
            raise ValueError("give split='half' or both weight_indices and arch_indices")
        weights = _check_indices('weight_indices', weight_indices, len(base))
        arch = _check_indices('arch_indices', arch_indices, len(base))
        overlap = np.intersect1d(weights, arch)
        if len(overlap):
            raise ValueError(f'the weight and architecture splits overlap in {len(overlap)} index(es) '
                             f'(e.g. {overlap[:5].tolist()}); they must be disjoint')
        self.dataset = base
        self.weight_indices, self.arch_indices = weights, arch
        super().__init__(source=IndexSubset(base, weights), target=IndexSubset(base, arch), shuffle_target=shuffle_arch)

    def full_init(self):
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()

    def __getitem__(self, idx: int) -> dict:
        return dict(weights=self.source[idx], arch=self.target[self.next_target_index()])

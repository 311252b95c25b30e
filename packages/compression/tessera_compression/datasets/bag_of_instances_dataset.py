"""The training set of BINGO: each item is an anchor and one random mate from its bag, two views each.

Bag of Instances Aggregation Boosts Self-supervised Distillation, Xu et al., ICLR 2022,
arXiv:2107.01691; official code https://github.com/haohang96/bingo (``moco/folder.py``: for image i
one neighbour j is drawn uniformly from its precomputed k nearest neighbours, and the query and key
transforms are applied to both).

The bags, (N, k) indices into this dataset, are computed from the frozen teacher before training
by ``BagOfInstancesHook`` and handed over with :meth:`set_bags`. An item's ``img`` stacks the views
on the channel axis: ``pipeline`` (typically ``MultiView(num_views=2)``) applied to the anchor, then
to the mate, then ``PackClsInputs``: (4 C, H, W) = (anchor query, anchor key, mate query, mate key).
"""
import copy
from typing import Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import Compose
from torch.utils.data import Dataset

from tessera_compression.registry import DATASETS, TRANSFORMS

__all__ = ['BagOfInstancesDataset']


def _build_pipeline(cfgs: Sequence[dict]) -> Compose:
    built = []
    for cfg in cfgs:
        cfg = dict(cfg)
        cfg.setdefault('_scope_', 'tessera_compression')
        built.append(TRANSFORMS.build(cfg))
    return Compose(built)


@DATASETS.register_module()
class BagOfInstancesDataset(Dataset):
    """Args:
        dataset (dict): The image dataset (e.g. ``FashionMNIST``); its own ``pipeline`` is ignored
            (built empty): items are read with ``get_data_info``.
        pipeline (list[dict]): Applied to the anchor and to the mate separately (the views).
        pack (dict): The final packing transform (keeps ``bag_mate``, the mate's index, as metainfo).
        seed (int, optional): Seed of the mate draws (None: numpy's global generator, which mmengine seeds).
    """

    def __init__(self, dataset: dict, pipeline: Sequence[dict], pack: dict = dict(type='PackClsInputs', meta_keys=('sample_idx', 'img_shape', 'bag_mate')),
                 seed: Optional[int] = None):
        dataset = dict(dataset)
        dataset['pipeline'] = []
        dataset.setdefault('_scope_', 'tessera_compression')
        self.dataset = DATASETS.build(dataset)
        self.pipeline = _build_pipeline(pipeline)
        self.pack = _build_pipeline([pack])
        self.bags: Optional[np.ndarray] = None
        self._rng = np.random.default_rng(seed) if seed is not None else np.random
        self.last_mates = {}

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self.dataset.metainfo)

    def __len__(self) -> int:
        return len(self.dataset)

    def set_bags(self, bags) -> None:
        """``bags`` (N, k): the k neighbour indices of every item (not the item itself)."""
        bags = np.asarray(bags.cpu() if isinstance(bags, torch.Tensor) else bags, dtype=np.int64)
        if bags.ndim != 2 or bags.shape[0] != len(self) or bags.shape[1] < 1:
            raise ValueError(f'bags must be ({len(self)}, k) neighbour indices, got shape {bags.shape}')
        if bags.min() < 0 or bags.max() >= len(self):
            raise ValueError(f'bag indices must lie in [0, {len(self)}), got [{bags.min()}, {bags.max()}]')
        if (bags == np.arange(len(self))[:, None]).any():
            raise ValueError('a bag lists its own anchor among the neighbours')
        self.bags = bags

    def plain_item(self, idx: int) -> dict:
        """Item ``idx`` un-augmented, packed (what the teacher's bag features are computed from)."""
        return self.pack(self.dataset.get_data_info(idx))

    def gt_labels(self) -> np.ndarray:
        return np.array([self.dataset.get_data_info(i)['gt_label'] for i in range(len(self))])

    def __getitem__(self, idx: int) -> dict:
        if self.bags is None:
            raise RuntimeError('BagOfInstancesDataset has no bags yet: add BagOfInstancesHook to custom_hooks '
                               '(it computes them from the teacher before training)')
        mate = int(self._rng.choice(self.bags[idx]))
        anchor = self.pipeline(self.dataset.get_data_info(idx))
        other = self.pipeline(self.dataset.get_data_info(mate))
        a, b = anchor['img'], other['img']
        a = a[..., None] if a.ndim == 2 else a
        b = b[..., None] if b.ndim == 2 else b
        if a.shape[:2] != b.shape[:2]:
            raise ValueError(f'anchor and bag mate views differ in size {a.shape} vs {b.shape}: end the pipeline '
                             f'with a fixed-size crop')
        anchor['img'] = np.ascontiguousarray(np.concatenate([a, b], axis=2))
        anchor['img_shape'] = anchor['img'].shape[:2]
        anchor['bag_mate'] = mate
        return self.pack(anchor)

"""P x K identity sampler for metric learning.

In Defense of the Triplet Loss for Person Re-Identification, Hermans et al., arXiv:1703.07737 (P identities
x K images per batch), as ``RandomIdentitySampler`` of the re-ID strong baseline (Luo et al.,
arXiv:1903.07071, official code https://github.com/michuanhaohao/reid-strong-baseline,
``data/samplers/triplet_sampler.py``).

One epoch, as in the official sampler: the images of every identity are shuffled and cut into chunks of K
(an identity with fewer than K images is drawn K times with replacement; a remainder shorter than K is
dropped); then, while at least P identities still hold chunks, P of them are drawn without replacement and
one chunk of each is emitted. Consecutive runs of P*K indices are therefore batches of P identities x K
images. The dataloader's ``batch_size`` must equal ``num_identities * num_instances``. As in the official
sampler the number of batches may differ by a few from one epoch to the next (it depends on the draws);
``len()`` is exact for the current epoch.
"""
from collections import defaultdict
from typing import Iterator, List, Optional, Sized

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from tessera_reid.registry import DATA_SAMPLERS


def dataset_labels(dataset: Sized) -> np.ndarray:
    """Identity label of every item: ``dataset.get_gt_labels()`` if present, else ``get_data_info(i)``."""
    if hasattr(dataset, 'get_gt_labels'):
        labels = np.asarray(dataset.get_gt_labels())
    elif hasattr(dataset, 'get_data_info'):
        labels = np.array([dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))])
    else:
        raise TypeError(f'PKSampler needs a dataset with get_gt_labels() or get_data_info(i)["gt_label"]; '
                        f'{type(dataset).__name__} has neither')
    if labels.shape != (len(dataset),):
        raise ValueError(f'{type(dataset).__name__} gave {labels.shape} labels for {len(dataset)} items')
    return labels.astype(np.int64)


@DATA_SAMPLERS.register_module()
class PKSampler(Sampler):
    """Batches of P identities x K instances, seeded and distributed.

    Works like mmengine's ``DefaultSampler``: built by the runner with ``dataset`` and ``seed``, reshuffled by
    :meth:`set_epoch` (``DistSamplerSeedHook``), and in distributed runs every rank takes whole batches
    ``rank, rank + world_size, ...`` of the same global order (so each rank's batches stay P x K), the
    epoch being cut to a multiple of ``world_size`` batches.

    Args:
        dataset (Sized): Dataset whose items carry an identity ``gt_label``.
        num_identities (int): P, identities per batch (16 in the strong baseline).
        num_instances (int): K, images per identity in a batch (4 in the strong baseline).
        seed (int, optional): Shared random seed; ``None`` draws one and syncs it across ranks.
    """

    def __init__(self, dataset: Sized, num_identities: int = 16, num_instances: int = 4,
                 seed: Optional[int] = None) -> None:
        if num_identities < 1 or num_instances < 1:
            raise ValueError(f'num_identities and num_instances must be >= 1, got {num_identities} and '
                             f'{num_instances}')
        self.dataset = dataset
        self.num_identities, self.num_instances = num_identities, num_instances
        self.batch_size = num_identities * num_instances
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        labels = dataset_labels(dataset)
        index_dict = defaultdict(list)
        for idx, pid in enumerate(labels.tolist()):
            index_dict[pid].append(idx)
        self.pids = sorted(index_dict)
        self.index_dict = {pid: np.asarray(index_dict[pid]) for pid in self.pids}
        if len(self.pids) < num_identities:
            raise ValueError(f'PKSampler: the dataset holds {len(self.pids)} identities, fewer than '
                             f'num_identities={num_identities}')
        self._cache = None

    def _global_batches(self) -> List[List[int]]:
        """All batches of the current epoch, the same on every rank."""
        if self._cache is not None and self._cache[0] == self.epoch:
            return self._cache[1]
        rng = np.random.RandomState((self.seed + self.epoch) % 2 ** 32)
        k = self.num_instances
        chunks = {}
        for pid in self.pids:
            idxs = self.index_dict[pid]
            if len(idxs) < k:
                idxs = rng.choice(idxs, size=k, replace=True)
            idxs = rng.permutation(idxs)
            usable = len(idxs) - len(idxs) % k
            chunks[pid] = [idxs[i:i + k].tolist() for i in range(0, usable, k)]
        available = list(self.pids)
        batches = []
        while len(available) >= self.num_identities:
            selected = rng.choice(len(available), size=self.num_identities, replace=False)
            batch = []
            for pid in [available[i] for i in selected]:
                batch.extend(chunks[pid].pop(0))
                if not chunks[pid]:
                    available.remove(pid)
            batches.append(batch)
        self._cache = (self.epoch, batches)
        return batches

    def _rank_batches(self) -> List[List[int]]:
        batches = self._global_batches()
        usable = len(batches) - len(batches) % self.world_size
        return batches[self.rank:usable:self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter([i for batch in self._rank_batches() for i in batch])

    def __len__(self) -> int:
        """Indices this rank yields in the current epoch (a multiple of P*K)."""
        return len(self._rank_batches()) * self.batch_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

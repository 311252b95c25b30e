"""Global hard identity searching (GHIS) sampler.

Learning Incremental Triplet Margin for Person Re-identification (multi-stage training with incremental triplet
margin and global hard identity searching), Zhang et al., AAAI 2019, arXiv:1812.06576. No official code.

Batch-hard triplet mining (Hermans et al.) only finds hard negatives inside a batch of P random identities x K
images, and two look-alike identities rarely share a random batch. GHIS searches hard identities over the whole
training set: the features of every training image are extracted with the current model, each identity is
summarised by its centroid (mean feature), and identities whose centroids are close are hard for each other.
A batch is then built from an identity and its nearest identities:

    d_jk = ||mu_j - mu_k||_2 for identity centroids mu (computed by ``HardIdentitySearchHook``);
    batch = G groups, group = {anchor a} + the (P / G - 1) identities k != a with the smallest d_ak,

each identity contributing K images. The epoch is laid out as in :class:`PKSampler` (the images of every
identity shuffled and cut into chunks of K, an identity leaving the pool once its chunks are used); anchors are
drawn uniformly from the identities still in the pool, and a group's neighbours are the nearest identities still
in the pool and not yet in the batch, so an epoch visits the same images as a PK epoch. Until the first search
(no distances set) the sampler is exactly a :class:`PKSampler` with the same seed.
"""
from typing import List, Optional, Sized

import numpy as np

from tessera_reid.registry import DATA_SAMPLERS
from .pk_sampler import PKSampler, dataset_labels


@DATA_SAMPLERS.register_module()
class GlobalHardIdentitySampler(PKSampler):
    """P x K batches of identities grouped with their nearest identities (by centroid distance).

    Args:
        dataset (Sized): Dataset whose items carry an identity ``gt_label``.
        num_identities (int): P, identities per batch.
        num_instances (int): K, images per identity.
        identities_per_group (int, optional): P / G, an anchor and its nearest identities; must divide P.
            ``None`` (default) makes the whole batch one group: an anchor and its P - 1 nearest identities.
        seed (int, optional): Shared random seed.

    Call :meth:`set_centroids` (or :meth:`set_identity_distances`) to switch from random PK batches to hard ones;
    ``HardIdentitySearchHook`` does it during training.
    """

    def __init__(self, dataset: Sized, num_identities: int = 16, num_instances: int = 4,
                 identities_per_group: Optional[int] = None, seed: Optional[int] = None) -> None:
        super().__init__(dataset, num_identities=num_identities, num_instances=num_instances, seed=seed)
        group = num_identities if identities_per_group is None else identities_per_group
        if group < 1 or num_identities % group:
            raise ValueError(f'GlobalHardIdentitySampler: identities_per_group={identities_per_group} must be >= 1 '
                             f'and divide num_identities={num_identities}')
        self.identities_per_group = group
        self.identity_dist = None   # (num_pids, num_pids) in the order of self.pids
        self._labels = dataset_labels(dataset)
        self.search_round = 0

    def set_identity_distances(self, dist: np.ndarray) -> None:
        """Use the (num_pids, num_pids) distance matrix ``dist`` (rows/columns in the order of ``self.pids``)."""
        dist = np.asarray(dist, dtype=np.float64)
        n = len(self.pids)
        if dist.shape != (n, n):
            raise ValueError(f'GlobalHardIdentitySampler: identity distance matrix has shape {dist.shape}, '
                             f'expected ({n}, {n}) for the {n} identities of the dataset')
        self.identity_dist = dist
        self.search_round += 1
        self._cache = None

    def set_centroids(self, centroids: np.ndarray) -> np.ndarray:
        """Set the identity centroids (num_pids, D), rows in the order of ``self.pids``; returns the distances."""
        centroids = np.asarray(centroids, dtype=np.float64)
        if centroids.ndim != 2 or centroids.shape[0] != len(self.pids):
            raise ValueError(f'GlobalHardIdentitySampler: centroids of shape {centroids.shape}, expected '
                             f'({len(self.pids)}, D)')
        sq = (centroids ** 2).sum(axis=1)
        dist = np.sqrt(np.clip(sq[:, None] + sq[None, :] - 2 * centroids @ centroids.T, 0, None))
        np.fill_diagonal(dist, 0.0)
        self.set_identity_distances(dist)
        return dist

    def _global_batches(self) -> List[List[int]]:
        if self.identity_dist is None:
            return super()._global_batches()
        if self._cache is not None and self._cache[0] == self.epoch:
            return self._cache[1]
        rng = np.random.RandomState((self.seed + self.epoch) % 2 ** 32)
        p, group = self.num_identities, self.identities_per_group
        chunks = self._identity_chunks(rng)
        n = len(self.pids)
        order = np.argsort(self.identity_dist + np.diag(np.full(n, np.inf)), axis=1, kind='stable')
        remaining = np.array([len(chunks[pid]) for pid in self.pids])
        batches = []
        while int((remaining > 0).sum()) >= p:
            in_batch = np.zeros(n, dtype=bool)
            members = []
            while len(members) < p:
                candidates = np.flatnonzero((remaining > 0) & ~in_batch)
                anchor = int(candidates[rng.randint(len(candidates))])
                group_members = [anchor]
                in_batch[anchor] = True
                size = min(group, p - len(members))
                for j in order[anchor]:
                    if len(group_members) == size:
                        break
                    if remaining[j] > 0 and not in_batch[j]:
                        group_members.append(int(j))
                        in_batch[j] = True
                members.extend(group_members)
            batch = []
            for j in members:
                batch.extend(chunks[self.pids[j]].pop(0))
                remaining[j] -= 1
            batches.append(batch)
        self._cache = (self.epoch, batches)
        return batches

    def _identity_chunks(self, rng: np.random.RandomState) -> dict:
        """Every identity's images shuffled and cut into chunks of K (PKSampler's rule)."""
        k = self.num_instances
        chunks = {}
        for pid in self.pids:
            idxs = self.index_dict[pid]
            if len(idxs) < k:
                idxs = rng.choice(idxs, size=k, replace=True)
            idxs = rng.permutation(idxs)
            usable = len(idxs) - len(idxs) % k
            chunks[pid] = [idxs[i:i + k].tolist() for i in range(0, usable, k)]
        return chunks

    def batch_identity_distance(self, batch: List[int]) -> float:
        """Mean centroid distance between the distinct identities of a batch (needs distances)."""
        if self.identity_dist is None:
            raise RuntimeError('GlobalHardIdentitySampler: no identity distances set yet')
        pos = {pid: i for i, pid in enumerate(self.pids)}
        labels = np.unique(self._labels[np.asarray(batch)])
        idx = np.array([pos[int(pid)] for pid in labels])
        sub = self.identity_dist[np.ix_(idx, idx)]
        m = len(idx)
        return float(sub.sum() / (m * (m - 1))) if m > 1 else 0.0

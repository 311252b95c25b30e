"""GlobalHardIdentitySampler: batches built from an anchor and its nearest identities (hand-built centroids),
P x K layout, PKSampler until the first search, the mean in-batch centroid distance."""
from collections import Counter

import numpy as np
import pytest

from tessera_reid.datasets.samplers import GlobalHardIdentitySampler, PKSampler


class LabelDataset:
    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def __len__(self):
        return len(self.labels)

    def get_gt_labels(self):
        return self.labels


def batches(sampler):
    idx = list(sampler)
    assert len(idx) == len(sampler) and len(idx) % sampler.batch_size == 0
    return [idx[i:i + sampler.batch_size] for i in range(0, len(idx), sampler.batch_size)]


def clustered_centroids(num_clusters, size, rng):
    # clusters far apart (centres 100 apart), members within 1 of their centre; identity i in cluster i // size
    centres = np.arange(num_clusters)[:, None] * 100.0 * np.ones((1, 3))
    return np.repeat(centres, size, axis=0) + rng.uniform(-1, 1, (num_clusters * size, 3))


def test_random_pk_until_searched():
    labels = np.repeat(np.arange(12), 8)
    hard = GlobalHardIdentitySampler(LabelDataset(labels), num_identities=4, num_instances=4, seed=3)
    pk = PKSampler(LabelDataset(labels), num_identities=4, num_instances=4, seed=3)
    for epoch in range(2):
        hard.set_epoch(epoch), pk.set_epoch(epoch)
        assert list(hard) == list(pk)


def test_every_batch_is_whole_clusters_of_nearest_identities():
    rng = np.random.RandomState(0)
    labels = rng.permutation(np.repeat(np.arange(24), 12))       # 24 identities x 12 images, shuffled order
    sampler = GlobalHardIdentitySampler(LabelDataset(labels), num_identities=8, num_instances=4,
                                        identities_per_group=4, seed=0)
    # 6 clusters of 4 identities: an anchor's 3 nearest identities are the rest of its cluster
    sampler.set_centroids(clustered_centroids(6, 4, rng))
    for epoch in range(3):
        sampler.set_epoch(epoch)
        bs = batches(sampler)
        # 72 chunks of K: 9 batches, or 8 when the last 8 chunks belong to fewer than 8 identities (dropped,
        # as PKSampler drops them)
        assert len(bs) in (8, 9)
        for batch in bs:
            counts = Counter(labels[batch].tolist())
            assert len(counts) == 8 and set(counts.values()) == {4}      # P x K
            clusters = Counter(pid // 4 for pid in counts)
            assert set(clusters.values()) == {4}, f'batch identities {sorted(counts)} split a cluster'
        # no image twice in an epoch, as in a PK epoch
        used = [i for b in bs for i in b]
        assert len(set(used)) == len(used)


def test_group_is_anchor_plus_its_nearest_identities():
    rng = np.random.RandomState(1)
    labels = np.repeat(np.arange(30), 4)
    sampler = GlobalHardIdentitySampler(LabelDataset(labels), num_identities=6, num_instances=4, seed=5)
    centroids = rng.randn(30, 5)
    dist = sampler.set_centroids(centroids)
    assert np.allclose(dist, np.linalg.norm(centroids[:, None] - centroids[None], axis=2))
    # the first batch of an epoch: all identities available, so the batch is one anchor + its 5 nearest
    for epoch in range(10):
        sampler.set_epoch(epoch)
        first = batches(sampler)[0]
        pids = [int(labels[i]) for i in first[::4]]      # one chunk of K=4 per identity, anchor first
        anchor = pids[0]
        nearest = np.argsort(dist[anchor] + np.where(np.arange(30) == anchor, np.inf, 0))[:5]
        assert pids[1:] == nearest.tolist()
        assert sampler.batch_identity_distance(first) < dist[~np.eye(30, dtype=bool)].mean()


def test_hard_batches_are_closer_than_random_ones():
    rng = np.random.RandomState(2)
    labels = np.repeat(np.arange(200), 8)
    sampler = GlobalHardIdentitySampler(LabelDataset(labels), num_identities=8, num_instances=4,
                                        identities_per_group=4, seed=0)
    dist = sampler.set_centroids(rng.rand(200, 2))   # uniform in the unit square
    hard = np.mean([sampler.batch_identity_distance(b) for b in batches(sampler)])
    random = dist[~np.eye(200, dtype=bool)].mean()
    assert hard < 0.8 * random, (hard, random)


def test_bad_arguments_are_named():
    ds = LabelDataset(np.repeat(np.arange(8), 4))
    with pytest.raises(ValueError, match='identities_per_group=3 must be >= 1 and divide num_identities=4'):
        GlobalHardIdentitySampler(ds, num_identities=4, num_instances=2, identities_per_group=3)
    sampler = GlobalHardIdentitySampler(ds, num_identities=4, num_instances=2)
    with pytest.raises(ValueError, match=r'expected \(8, 8\)'):
        sampler.set_identity_distances(np.zeros((7, 7)))
    with pytest.raises(RuntimeError, match='no identity distances'):
        sampler.batch_identity_distance([0, 1])

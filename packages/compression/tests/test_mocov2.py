"""MoCo v2: FIFO queue, exact EMA of the key encoder, InfoNCE on the encoders' outputs, SimCLR-style
grey-image augmentations with two views."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tessera_compression.models.losses import info_nce_logits
from tessera_compression.registry import MODELS, TRANSFORMS


def moco(queue_len=6, feat_dim=4, momentum=0.9, width=4):
    m = MODELS.build(dict(
        type='MoCoV2', backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=width),
        neck=dict(type='GlobalAveragePooling'),
        projector=dict(type='MLPProjector', in_channels=8 * width, hid_channels=8 * width, out_channels=feat_dim),
        queue_len=queue_len, feat_dim=feat_dim, momentum=momentum, temperature=0.2))
    m.init_weights()
    return m


def test_queue_dequeues_the_oldest_keys_first():
    model = moco(queue_len=6, feat_dim=4)
    keys = [torch.full((4, 4), float(i)) + torch.arange(4.0)[:, None] / 10 for i in range(3)]  # batches 0, 1, 2
    model.dequeue_and_enqueue(keys[0])
    assert int(model.queue_ptr) == 4 and torch.equal(model.queue[:4], keys[0])
    initial_tail = model.queue[4:].clone()
    model.dequeue_and_enqueue(keys[1])  # fills rows 4, 5 then wraps to overwrite rows 0, 1 (the oldest)
    assert int(model.queue_ptr) == 2
    assert torch.equal(model.queue[4:], keys[1][:2]) and torch.equal(model.queue[:2], keys[1][2:])
    assert torch.equal(model.queue[2:4], keys[0][2:])  # still there: newer than rows 0, 1 were
    assert not any(torch.equal(row, t) for row in model.queue for t in initial_tail)
    model.dequeue_and_enqueue(keys[2])
    # the queue holds exactly the 6 most recent keys; the next write hits the oldest of them
    recent = torch.cat([keys[1][2:], keys[2]])  # 2 + 4 newest, oldest first
    order = [(int(model.queue_ptr) + i) % 6 for i in range(6)]
    assert torch.equal(model.queue[order], recent)
    with pytest.raises(ValueError, match='does not fit'):
        model.dequeue_and_enqueue(torch.zeros(7, 4))


def test_momentum_update_is_the_ema_rule_exactly():
    model = moco(momentum=0.9)
    q_params = list(model.query_modules().parameters())
    k_params = [p for n in ('backbone', 'neck', 'projector') for p in model.momentum_encoder[n].parameters()]
    assert all(torch.equal(a, b) for a, b in zip(q_params, k_params))  # init_weights copied theta_q
    with torch.no_grad():
        for p in q_params:
            p.add_(torch.randn_like(p))
    before_k = [p.clone() for p in k_params]
    bn_before = model.momentum_encoder['backbone'].stem[1].running_mean.clone()
    model.momentum_update()
    for new, old, q in zip(k_params, before_k, q_params):
        expected = old * 0.9 + q.detach() * (1 - 0.9)
        assert torch.allclose(new, expected, rtol=0, atol=1e-6)  # float32 rounding of values ~1
    assert torch.equal(model.momentum_encoder['backbone'].stem[1].running_mean, bn_before)  # buffers: not EMA'd
    assert all(not p.requires_grad for p in k_params)


def test_loss_is_info_nce_of_the_encoders_and_enqueues_the_keys():
    model = moco(queue_len=8, feat_dim=4, momentum=0.5).train()
    x = torch.randn(4, 2, 16, 16)
    queue_before = model.queue.clone()
    ref = moco(queue_len=8, feat_dim=4, momentum=0.5)
    ref.load_state_dict(model.state_dict())
    ref.train()
    loss = model.loss(x)['loss']
    with torch.no_grad():
        ref.momentum_update()
        q = ref.encode_query(x[:, :1])
        k = ref.encode_key(x[:, 1:])
    target = torch.zeros(4, dtype=torch.long)
    expected = F.cross_entropy(info_nce_logits(q, k, queue_before, 0.2), target)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert torch.allclose(model.queue[:4], k, atol=1e-6) and torch.equal(model.queue[4:], queue_before[4:])
    loss.backward()
    assert model.backbone.stem[0].weight.grad is not None
    assert all(p.grad is None for p in model.momentum_encoder.parameters())
    with pytest.raises(ValueError, match='views'):
        model.loss(torch.randn(2, 3, 16, 16))


def _digit():
    img = np.zeros((28, 28), np.uint8)
    img[6:22, 12:16] = 255
    img[6:10, 8:20] = 180
    return img


def test_two_view_pipeline_gives_stacked_different_views():
    np.random.seed(0)
    pipeline = [dict(type='MultiView', num_views=2, transforms=[
        dict(type='RandomResizedCrop', size=28, scale=(0.2, 1.0)),
        dict(type='RandomBrightnessContrast', brightness=0.4, contrast=0.4, prob=0.8),
        dict(type='RandomGaussianBlur', sigma=(0.1, 2.0), prob=0.5),
        dict(type='RandomHorizontalFlip', prob=0.5)]), dict(type='PackClsInputs')]
    from mmcv.transforms import Compose
    compose = Compose([TRANSFORMS.build(t) for t in pipeline])
    out = compose(dict(img=_digit(), gt_label=1, sample_idx=0, img_shape=(28, 28)))
    assert out['inputs'].shape == (2, 28, 28) and out['inputs'].dtype == torch.uint8
    assert not torch.equal(out['inputs'][0], out['inputs'][1])


def test_single_transforms_follow_their_definition():
    np.random.seed(0)
    img = _digit()
    crop = TRANSFORMS.build(dict(type='RandomResizedCrop', size=(20, 24), scale=(0.5, 0.5), ratio=(1.0, 1.0)))
    assert crop(dict(img=img))['img'].shape == (20, 24)
    assert crop(dict(img=img[..., None]))['img'].shape == (20, 24, 1)
    flip = TRANSFORMS.build(dict(type='RandomHorizontalFlip', prob=1.0))
    assert np.array_equal(flip(dict(img=img.copy()))['img'], img[:, ::-1])
    bright = TRANSFORMS.build(dict(type='RandomBrightnessContrast', brightness=0.4, contrast=0.0, prob=1.0))
    grey = np.full((8, 8), 100, np.uint8)
    out = bright(dict(img=grey))['img']
    assert len(np.unique(out)) == 1 and 60 <= int(out[0, 0]) <= 140  # x * b, b in [0.6, 1.4]
    contrast = TRANSFORMS.build(dict(type='RandomBrightnessContrast', brightness=0.0, contrast=0.4, prob=1.0))
    assert np.array_equal(contrast(dict(img=grey))['img'], grey)  # blending with its own mean: unchanged
    blur = TRANSFORMS.build(dict(type='RandomGaussianBlur', sigma=(1.5, 1.5), prob=1.0))
    checker = (np.indices((28, 28)).sum(0) % 2 * 255).astype(np.uint8)
    assert blur.kernel_for(checker) == 3 and blur(dict(img=checker))['img'].std() < checker.std() / 2
    with pytest.raises(ValueError, match='scale'):
        TRANSFORMS.build(dict(type='RandomResizedCrop', size=28, scale=(0.5, 1.5)))


def test_split_batch_norm_normalises_interleaved_sub_batches():
    from tessera_compression.models.selfsup import SplitBatchNorm2d
    bn = SplitBatchNorm2d(3, num_splits=4, momentum=0.5)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        bn.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    x = torch.randn(8, 3, 5, 5) * 3 + 1
    out = bn.train()(x)
    group_means, group_vars = [], []
    for j in range(4):
        ref = torch.nn.BatchNorm2d(3, momentum=0.5)
        ref.load_state_dict({k: v for k, v in bn.state_dict().items()}, strict=False)
        ref.running_mean.zero_(), ref.running_var.fill_(1.0)
        assert torch.allclose(out[j::4], ref.train()(x[j::4]), atol=1e-5)  # samples n = j (mod 4)
        group_means.append(ref.running_mean), group_vars.append(ref.running_var)
    assert torch.allclose(bn.running_mean, torch.stack(group_means).mean(0), atol=1e-6)
    assert torch.allclose(bn.running_var, torch.stack(group_vars).mean(0), atol=1e-6)
    plain = torch.nn.BatchNorm2d(3)
    plain.load_state_dict(bn.state_dict())  # same state dict as a BatchNorm2d
    assert torch.allclose(bn.eval()(x), plain.eval()(x), atol=1e-6)
    with pytest.raises(ValueError, match='multiple of num_splits'):
        bn.train()(torch.randn(6, 3, 2, 2))


def test_shuffled_keys_come_back_in_input_order():
    model = moco(queue_len=8, feat_dim=4).eval()  # eval BN: the order can not matter, so keys must match
    x = torch.randn(6, 1, 16, 16)
    assert torch.allclose(model.encode_key(x, shuffle=True), model.encode_key(x, shuffle=False), atol=1e-6)

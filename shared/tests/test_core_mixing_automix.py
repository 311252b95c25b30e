"""AutoMix: the Mix Block's mask, its mask loss, the momentum encoder's EMA and schedule, the loss paths."""
import math

import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper
from torch import nn

from tessera_core.models.mixing import AutoMixClassifier, AutoMixMomentumHook, MixBlock, automix_momentum
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample

BACKBONE = dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8, out_indices=(2, 3))
HEAD = dict(type='LinearClsHead', num_classes=4, in_channels=64,
            loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0))


def _model(**kwargs):
    cfg = dict(backbone=BACKBONE, neck=dict(type='GlobalAveragePooling'), head=HEAD,
               mix_block=dict(type='MixBlock', in_channels=32),
               data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0.0], std=[1.0]))
    cfg.update(kwargs)
    model = AutoMixClassifier(**cfg)
    model.init_weights()
    return model


def _samples(labels):
    return [ClsDataSample().set_gt_label(int(v)) for v in labels]


def test_mix_block_gives_a_valid_mask_of_the_image_size():
    block = MixBlock(in_channels=6, init_std=0.5)
    feats = torch.randn(5, 6, 3, 4)
    mask = block(feats, 0.3, torch.tensor([4, 0, 1, 2, 3]), (12, 16))
    assert mask.shape == (5, 2, 12, 16)
    assert mask.min() >= 0 and mask.max() <= 1
    assert torch.allclose(mask.sum(1), torch.ones(5, 12, 16))
    # nearest upsampling: every 4 x 4 cell of the image has the value of its feature position
    assert torch.equal(mask[:, :, ::4, ::4].repeat_interleave(4, 2).repeat_interleave(4, 3), mask)
    assert mask[:, 1].std() > 0.01  # with large weights the mask is not constant


def test_mix_block_matches_the_attention_formula():
    torch.manual_seed(1)
    block = MixBlock(in_channels=4, reduction=2, init_std=0.3)
    nn.init.normal_(block.query.bias, std=0.1)
    nn.init.normal_(block.value.bias, std=0.1)
    feats = torch.randn(3, 4, 2, 3)
    index = torch.tensor([2, 0, 1])
    lam = 0.35
    mask = block(feats, lam, index, (2, 3))
    wq, bq = block.query.weight[:, :, 0, 0], block.query.bias
    wv, bv = block.value.weight[:, :, 0, 0], block.value.bias
    for i in range(3):
        a = torch.cat([feats[i], torch.full((1, 2, 3), lam)]).reshape(5, 6)  # (C + 1, hw), lam channel
        b = torch.cat([feats[index[i]], torch.full((1, 2, 3), 1 - lam)]).reshape(5, 6)
        q, k = wq @ a + bq[:, None], wq @ b + bq[:, None]  # (C/r, hw), shared 1x1 conv
        p = torch.softmax(q.t() @ k / math.sqrt(2), dim=1)  # (hw, hw)
        v = wv @ b + bv[:, None]  # (1, hw)
        m_j = torch.sigmoid(p @ v.t()).reshape(2, 3)
        assert torch.allclose(mask[i, 1], m_j, atol=1e-6)
        assert torch.allclose(mask[i, 0], 1 - m_j, atol=1e-6)


def test_lam_enters_the_mask_only_with_lam_concat():
    feats, index = torch.randn(4, 6, 3, 3), torch.tensor([1, 2, 3, 0])
    with_lam = MixBlock(in_channels=6, init_std=0.5)
    assert not torch.allclose(with_lam(feats, 0.2, index, (6, 6)), with_lam(feats, 0.8, index, (6, 6)))
    without = MixBlock(in_channels=6, init_std=0.5, lam_concat=False)
    assert torch.equal(without(feats, 0.2, index, (6, 6)), without(feats, 0.8, index, (6, 6)))


def test_mask_loss_is_the_margin_l1_of_the_mask_mean():
    block = MixBlock(in_channels=2, mask_loss_margin=0.1)
    m_j = torch.full((2, 1, 4, 4), 0.7)
    m_j[1] = 0.5  # mean of m_j = 0.6, so the sample itself weighs 0.4
    mask = torch.cat([1 - m_j, m_j], 1)
    assert block.mask_loss(mask, 0.4).item() == pytest.approx(0.0)  # on target
    assert block.mask_loss(mask, 0.45).item() == pytest.approx(0.0)  # inside the margin
    assert block.mask_loss(mask, 0.8).item() == pytest.approx(0.3, abs=1e-6)  # |0.4 - 0.8| - 0.1
    assert block.mask_loss(mask, 0.1).item() == pytest.approx(0.2, abs=1e-6)


def test_mask_loss_pulls_the_mask_mean_to_the_ratio():
    """The paper's constraint: trained on its mask loss, the block's mask mean follows lam (+- margin)."""
    torch.manual_seed(0)
    block = MixBlock(in_channels=8)
    feats, index = torch.randn(8, 8, 4, 4), torch.randperm(8)
    lams = (0.15, 0.5, 0.85)
    before = [abs(block(feats, lam, index, (8, 8))[:, 0].mean().item() - lam) for lam in lams]
    assert max(before) > 0.3  # untrained: the mean is ~0.5 whatever lam
    opt = torch.optim.Adam(block.parameters(), lr=0.05)
    for _ in range(150):
        opt.zero_grad()
        sum(block.mask_loss(block(feats, lam, index, (8, 8)), lam) for lam in lams).backward()
        opt.step()
    with torch.no_grad():
        for lam in lams:
            mask = block(feats, lam, index, (8, 8))
            assert 0 <= mask.min() and mask.max() <= 1
            assert abs(mask[:, 0].mean().item() - lam) <= 0.1 + 0.01


def test_momentum_encoder_starts_as_a_copy_and_moves_by_the_ema_rule():
    model = _model()
    pairs = model.encoder_pairs()
    for q, k in pairs:
        for pq, pk in zip(q.parameters(), k.parameters()):
            assert torch.equal(pq, pk) and not pk.requires_grad
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(torch.randn_like(p))
        for p in model.mix_head.parameters():
            p.add_(torch.randn_like(p))
    k_old = [[p.clone() for p in k.parameters()] for _, k in pairs]
    buffers_old = [b.clone() for b in model.backbone_k.buffers()]
    model.momentum = 0.9
    model.momentum_update()
    for (q, k), olds in zip(pairs, k_old):
        for pq, pk, old in zip(q.parameters(), k.parameters(), olds):
            assert torch.allclose(pk, 0.9 * old + 0.1 * pq, rtol=0, atol=1e-6)
    assert any(not torch.equal(pk, old) for (_, k), olds in zip(pairs, k_old) for pk, old in zip(k.parameters(), olds))
    for b, old in zip(model.backbone_k.buffers(), buffers_old):
        assert torch.equal(b, old)  # parameters only, as the official momentum_update
    model.momentum = 1.0
    frozen = [p.clone() for p in model.backbone_k.parameters()]
    model.momentum_update()
    assert all(torch.equal(a, b) for a, b in zip(frozen, model.backbone_k.parameters()))


def test_train_step_updates_q_and_the_mix_block_then_applies_the_ema():
    model = _model(momentum=0.8).train()
    optim = OptimWrapper(torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5))
    k_old = [p.clone() for p in model.backbone_k.parameters()]
    q_old = [p.clone() for p in model.backbone.parameters()]
    block_old = [p.clone() for p in model.mix_block.parameters()]
    data = dict(inputs=[torch.rand(1, 16, 16) for _ in range(6)], data_samples=_samples([0, 1, 2, 3, 0, 1]))
    log_vars = model.train_step(data, optim)
    assert {'loss', 'loss_mix_q', 'loss_mix_k', 'loss_mask', 'loss_one_q', 'mask_mean', 'momentum'} <= set(log_vars)
    assert any(not torch.equal(a, b) for a, b in zip(block_old, model.mix_block.parameters()))
    for pk, old_k, pq, old_q in zip(model.backbone_k.parameters(), k_old, model.backbone.parameters(), q_old):
        assert pk.grad is None
        assert torch.allclose(pk, 0.8 * old_k + 0.2 * pq, rtol=0, atol=1e-6)


def test_loss_paths_mix_block_learns_only_through_the_momentum_encoder():
    model = _model().train()
    x = torch.rand(6, 1, 16, 16)
    losses = model(x, _samples([0, 1, 2, 3, 0, 1]), mode='loss')
    block = list(model.mix_block.parameters())
    grads_k = torch.autograd.grad(losses['loss_mix_k'], block, retain_graph=True, allow_unused=True)
    assert all(g is not None for g in grads_k) and sum(g.abs().sum() for g in grads_k) > 0
    grads_q = torch.autograd.grad(losses['loss_mix_q'] + losses['loss_one_q'], block, retain_graph=True,
                                  allow_unused=True)
    assert all(g is None or g.abs().sum() == 0 for g in grads_q)  # the encoder's mask is detached
    q_params = list(model.backbone.parameters())
    assert all(g is None for g in torch.autograd.grad(losses['loss_mix_k'], q_params, retain_graph=True,
                                                      allow_unused=True))
    assert losses['loss_mask'].item() == pytest.approx(0.1 * losses['mask_l1'].item())
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is None for p in model.backbone_k.parameters())


def test_lam_margin_falls_back_to_plain_mixup_for_the_encoder(monkeypatch):
    model = _model(lam_margin=0.08).train()
    seen = {}
    original = MixBlock.mix

    def spy(inputs, mask, index):
        seen.setdefault('masks', []).append(mask.detach())
        return original(inputs, mask, index)

    monkeypatch.setattr(MixBlock, 'mix', staticmethod(spy))
    monkeypatch.setattr(np.random, 'beta', lambda a, b, size: np.array([0.5, 0.05]))
    model(torch.rand(4, 1, 16, 16), _samples([0, 1, 2, 3]), mode='loss')
    mask_mb, mask_bb = seen['masks']
    assert torch.equal(mask_bb[:, 0], torch.full_like(mask_bb[:, 0], 0.05))  # lam_bb <= margin: constant
    assert mask_mb[:, 1].std() > 0  # the Mix Block's own mask otherwise


def test_momentum_schedule_is_the_official_cosine():
    base, end, T = 0.99, 0.999999, 1000
    assert automix_momentum(0, T, base, end) == base  # constant warm-up below 10 %
    assert automix_momentum(99, T, base, end) == base
    t = 500
    assert automix_momentum(t, T, base, end) == pytest.approx(end - (end - base) * (math.cos(math.pi * t / T) + 1) / 2)
    assert automix_momentum(T, T, base, end) == pytest.approx(end)
    assert automix_momentum(50, T, base, end, warming_up='linear') == pytest.approx(end - (end - base) * 0.5)
    assert automix_momentum(900, T, base, end, adjust_scope=(0.0, 0.8)) is None  # after the scope: unchanged

    class _Runner:
        iter, max_iters = 500, 1000

    runner = _Runner()
    runner.model = _model(momentum=base)
    hook = AutoMixMomentumHook(end_momentum=end)
    hook.before_run(runner)
    hook.before_train_iter(runner, 0)
    assert runner.model.momentum == pytest.approx(automix_momentum(500, 1000, base, end))
    assert runner.model.base_momentum == base


def test_predict_uses_the_chosen_encoder():
    model = _model().eval()
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(torch.randn_like(p))
    x = torch.rand(3, 1, 16, 16)
    k_logits = model(x, mode='tensor')
    model.predict_encoder = 'q'
    q_logits = model(x, mode='tensor')
    assert not torch.allclose(k_logits, q_logits)
    preds = model(x, _samples([0, 1, 2]), mode='predict')
    assert torch.allclose(torch.stack([p.pred_score for p in preds]), q_logits.softmax(1))


class _HardOnlyLoss(nn.Module):
    def forward(self, cls_score, label):
        return nn.functional.cross_entropy(cls_score, label)


def test_bad_input_is_refused_with_the_reason():
    block = MixBlock(in_channels=4)
    for lam in (-0.01, 1.2):
        with pytest.raises(ValueError, match=r'mixing ratio lam must lie in \[0, 1\]'):
            block(torch.randn(2, 4, 2, 2), lam, torch.tensor([1, 0]), (4, 4))
    with pytest.raises(ValueError, match=r'expects \(N, 4, h, w\) features, got \(2, 3, 2, 2\)'):
        block(torch.randn(2, 3, 2, 2), 0.5, torch.tensor([1, 0]), (4, 4))
    with pytest.raises(ValueError, match="invalid upsample_mode 'area'"):
        MixBlock(in_channels=4, upsample_mode='area')
    if 'HardOnlyLossForAutoMixTest' not in MODELS.module_dict:
        MODELS.register_module('HardOnlyLossForAutoMixTest', module=_HardOnlyLoss)
    hard_head = dict(HEAD, loss=dict(type='HardOnlyLossForAutoMixTest'))
    with pytest.raises(ValueError, match=r'mix_head.*no soft-label support'):
        _model(mix_head=hard_head)
    with pytest.raises(ValueError, match='mixes its batches itself; remove data_preprocessor.batch_augments'):
        _model(data_preprocessor=dict(type='ClsDataPreprocessor', num_classes=4,
                                      batch_augments=dict(augments=[dict(type='Mixup', alpha=1.0)])))
    with pytest.raises(ValueError, match=r'momentum must lie in \[0, 1\], got 1.5'):
        _model(momentum=1.5)
    with pytest.raises(ValueError, match=r'alpha .* must be > 0'):
        _model(alpha=0)
    with pytest.raises(KeyError, match=r"unknown loss_weights \['mix'\]"):
        _model(loss_weights=dict(mix=1.0))
    single = _model(backbone=dict(BACKBONE, out_indices=(3,)), mix_block=dict(type='MixBlock', in_channels=64))
    with pytest.raises(ValueError, match=r'returns 1 feature map.*out_indices=\(2, 3\)'):
        single(torch.rand(2, 1, 16, 16), _samples([0, 1]), mode='loss')
    with pytest.raises(TypeError, match='needs a model with momentum and base_momentum'):
        class _R:
            model = nn.Linear(2, 2)
        AutoMixMomentumHook().before_run(_R())
    with pytest.raises(ValueError, match=r'adjust_scope'):
        AutoMixMomentumHook(adjust_scope=(0.5, 0.2))

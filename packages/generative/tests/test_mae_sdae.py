"""MAE's loss is on masked patches only; SdAE's teacher gets no gradient and moves by exactly the EMA rule."""
import copy

import pytest
import torch
from mmengine.config import Config

from tessera_core.config import package_config_path
from tessera_generative.models.mim import (MAEPretrainHead, PixelReconstructionLoss, SdAE, cosine_momentum,
                                           patchify, unpatchify)
from tessera_generative.registry import MODELS

BACKBONE = dict(type='MAEViT', arch='micro', img_size=28, patch_size=4, mask_ratio=0.75)
NECK = dict(type='MAEPretrainDecoder', img_size=28, patch_size=4, in_chans=1, embed_dim=96,
            decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=4)


def build_mae():
    m = MODELS.build(dict(type='MAE', backbone=BACKBONE, neck=NECK, head=dict(type='MAEPretrainHead', patch_size=4)))
    m.init_weights()
    return m


def build_sdae(**kw):
    m = MODELS.build(dict(type='SdAE', backbone=BACKBONE, neck=dict(NECK, predict_feature_dim=96), **kw))
    m.init_weights()
    return m


def test_patchify_roundtrip_and_layout():
    x = torch.arange(2 * 1 * 8 * 8, dtype=torch.float).reshape(2, 1, 8, 8)
    p = patchify(x, 4)
    assert p.shape == (2, 4, 16)
    assert torch.equal(p[0, 1], x[0, 0, :4, 4:8].reshape(-1))  # patch (row 0, col 1)
    assert torch.equal(unpatchify(p, 4, (2, 2), 1), x)


def test_norm_pix_target_closed_form():
    head = MAEPretrainHead(patch_size=4, norm_pix=True)
    x = torch.randn(3, 1, 8, 8)
    t = head.construct_target(x)
    raw = patchify(x, 4)
    want = (raw - raw.mean(-1, keepdim=True)) / (raw.var(-1, keepdim=True) + 1e-6).sqrt()
    assert torch.allclose(t, want)
    assert torch.allclose(t.mean(-1), torch.zeros(3, 4), atol=1e-5)


def test_pixel_loss_is_the_masked_mean():
    loss = PixelReconstructionLoss()
    pred, target = torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    mask = torch.tensor([[1., 0, 1, 0, 0], [0, 0, 0, 1, 1]])
    err = ((pred - target) ** 2).mean(-1)
    assert loss(pred, target, mask).item() == pytest.approx(float((err * mask).sum() / 4), rel=1e-6)


def test_mae_loss_ignores_visible_patches():
    """Changing only the targets of visible patches leaves the loss unchanged; changing a masked one changes it."""
    torch.manual_seed(0)
    mae = build_mae()
    x = torch.randn(2, 1, 28, 28)
    g = torch.Generator().manual_seed(3)
    latent, mask, ids_restore, _ = mae.backbone(x, generator=g)
    pred = mae.neck(latent, ids_restore)
    base = mae.head.loss(pred, x, mask)
    vis = (mask[0] == 0).nonzero()[0].item()
    msk = (mask[0] == 1).nonzero()[0].item()

    def perturb(idx):
        x2 = x.clone()
        i, j = divmod(idx, 7)
        x2[0, :, 4 * i:4 * i + 4, 4 * j:4 * j + 4] = torch.randn(1, 4, 4) * 5
        return mae.head.loss(pred, x2, mask)  # same prediction, other targets

    assert perturb(vis).item() == pytest.approx(base.item(), rel=1e-6)
    assert abs(perturb(msk).item() - base.item()) > 1e-3
    # and the gradient reaches the decoder only through masked positions
    pred_leaf = pred.detach().requires_grad_(True)
    mae.head.loss(pred_leaf, x, mask).backward()
    assert torch.all(pred_leaf.grad[mask == 0] == 0) and pred_leaf.grad[mask == 1].abs().sum() > 0


def test_mae_train_mode_loss_and_grads():
    mae = build_mae()
    losses = mae(torch.randn(4, 1, 28, 28), mode='loss')
    assert set(losses) == {'loss'} and torch.isfinite(losses['loss'])
    losses['loss'].backward()
    assert mae.backbone.cls_token.grad is not None and mae.neck.mask_token.grad.abs().sum() > 0
    rec, mask = mae(torch.randn(2, 1, 28, 28), mode='predict')
    assert rec.shape == (2, 1, 28, 28) and mask.shape == (2, 49)
    with pytest.raises(ValueError, match="invalid mode 'foo'"):
        mae(torch.randn(1, 1, 28, 28), mode='foo')


def test_mae_neck_backbone_mismatch_is_named():
    with pytest.raises(ValueError, match='neck .decoder. has 64 patches, backbone 49'):
        MODELS.build(dict(type='MAE', backbone=BACKBONE, neck=dict(NECK, img_size=32),
                          head=dict(type='MAEPretrainHead', patch_size=4)))


def test_sdae_teacher_gets_no_gradient():
    sd = build_sdae()
    assert all(not p.requires_grad for p in sd.teacher.parameters())
    sd.train()
    assert not sd.teacher.training
    loss = sd(torch.randn(4, 1, 28, 28), mode='loss')['loss']
    loss.backward()
    assert all(p.grad is None for p in sd.teacher.parameters())
    assert sd.backbone.cls_token.grad is not None and sd.backbone.cls_token.grad.abs().sum() > 0
    # the teacher is not in the optimizer's view either
    from mmengine.optim import build_optim_wrapper
    ow = build_optim_wrapper(sd, dict(optimizer=dict(type='AdamW', lr=1e-3)))
    teacher_ids = {id(p) for p in sd.teacher.parameters()}
    before = copy.deepcopy(sd.teacher.state_dict())
    ow.update_params(sd(torch.randn(4, 1, 28, 28), mode='loss')['loss'])
    assert all(torch.equal(before[k], v) for k, v in sd.teacher.state_dict().items())
    assert teacher_ids  # sanity


def test_sdae_teacher_starts_independent_or_as_copy():
    sd = build_sdae()
    assert not torch.equal(sd.teacher.layers[0].attn.qkv.weight, sd.backbone.layers[0].attn.qkv.weight)
    cp = build_sdae(teacher_init='copy')
    for (n, t), (_, s) in zip(cp.teacher.state_dict().items(), cp.backbone.state_dict().items()):
        assert torch.equal(t, s), n


def test_sdae_ema_update_is_exact():
    sd = build_sdae()
    t0 = {k: v.clone() for k, v in sd.teacher.state_dict().items()}
    s0 = {k: v.clone() for k, v in sd.backbone.state_dict().items()}
    m = 0.9
    sd.momentum_update(m)
    for k, v in sd.teacher.state_dict().items():
        assert torch.allclose(v, m * t0[k] + (1 - m) * s0[k], atol=1e-7), k
    moved = sum((v - t0[k]).abs().sum().item() for k, v in sd.teacher.state_dict().items())
    assert moved > 0


def test_cosine_momentum_schedule_matches_official():
    import numpy as np
    base, final, epochs = 0.96, 0.99, 7
    iters = np.arange(epochs)
    official = final + 0.5 * (base - final) * (1 + np.cos(np.pi * iters / len(iters)))
    ours = [cosine_momentum(base, final, k, epochs) for k in range(epochs)]
    assert ours == pytest.approx(official.tolist(), abs=1e-12)
    assert ours[0] == pytest.approx(0.96)
    with pytest.raises(ValueError, match='outside'):
        cosine_momentum(base, final, epochs, epochs)


def test_sdae_loss_targets_teacher_features_of_masked_folds():
    """Loss equals 1 - cos between the student's predictions and the normalised teacher outputs of each fold,
    each fold encoded alone (so changing a patch of one fold does not change another fold's targets)."""
    torch.manual_seed(0)
    sd = build_sdae()
    sd.eval()
    x = torch.randn(2, 1, 28, 28)
    g = torch.Generator().manual_seed(5)
    latent, mask, ids_restore, ids_shuffle = sd.backbone(x, generator=g)
    folds = ids_shuffle[:, 12:48].reshape(2, 3, 12)
    feats = sd.teacher.forward_views(x, folds)
    # fold 0 alone through the plain teacher encoder
    tok = sd.teacher.embed(x)[0, folds[0, 0]]
    alone = sd.teacher.encode(tok[None])[0, 1:]
    assert torch.allclose(feats[0, 0], alone, atol=1e-5)
    x2 = x.clone()
    i, j = divmod(int(folds[0, 1, 0]), 7)
    x2[0, :, 4 * i:4 * i + 4, 4 * j:4 * j + 4] += 3
    feats2 = sd.teacher.forward_views(x2, folds)
    assert torch.allclose(feats2[0, 0], feats[0, 0], atol=1e-5) and not torch.allclose(feats2[0, 1], feats[0, 1])
    # the full loss with the same mask
    torch.manual_seed(11)
    g = torch.Generator().manual_seed(5)
    orig = sd.backbone.random_masking
    sd.backbone.random_masking = lambda tokens, generator=None: orig(tokens, torch.Generator().manual_seed(5))
    loss = sd(x, mode='loss')['loss']
    sd.backbone.random_masking = orig
    pred = sd.neck(latent, ids_restore)
    ids = folds.reshape(2, 36)
    p = torch.gather(pred, 1, ids[..., None].expand(-1, -1, 96))
    t = feats.reshape(2, 36, 96)
    t = (t - t.mean(-1, keepdim=True)) / (t.var(-1, keepdim=True) + 1e-6).sqrt()
    want = 1 - torch.nn.functional.cosine_similarity(p, t, dim=-1).mean()
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)


def test_sdae_bad_settings_are_named():
    with pytest.raises(ValueError, match='teacher_init must be one of'):
        build_sdae(teacher_init='warm')
    with pytest.raises(ValueError, match='momentum must be in'):
        build_sdae(momentum=1.2)
    with pytest.raises(ValueError, match='cannot be split into num_folds=40'):
        build_sdae(num_folds=40)


def test_teacher_update_hook_moves_teacher_by_schedule():
    from tessera_generative.engine.hooks import SdAETeacherUpdateHook

    class FakeHub:
        def __init__(self):
            self.v = {}

        def update_scalar(self, k, v):
            self.v[k] = v

    class FakeRunner:
        def __init__(self, model):
            self.model, self.epoch, self.max_epochs, self.iter, self.max_iters = model, 2, 5, 7, 10
            self.message_hub = FakeHub()

    sd = build_sdae()
    runner = FakeRunner(sd)
    hook = SdAETeacherUpdateHook()
    t0 = {k: v.clone() for k, v in sd.teacher.state_dict().items()}
    hook.after_train_iter(runner, 0)  # by-epoch model: iterations do nothing
    assert all(torch.equal(v, t0[k]) for k, v in sd.teacher.state_dict().items())
    hook.after_train_epoch(runner)
    m = cosine_momentum(0.96, 0.99, 2, 5)
    assert runner.message_hub.v['train/teacher_momentum'] == pytest.approx(m)
    s = sd.backbone.state_dict()
    for k, v in sd.teacher.state_dict().items():
        assert torch.allclose(v, m * t0[k] + (1 - m) * s[k], atol=1e-7)
    per_iter = build_sdae(ema_by_epoch=False)
    runner = FakeRunner(per_iter)
    hook.after_train_iter(runner, 0)
    assert runner.message_hub.v['train/teacher_momentum'] == pytest.approx(cosine_momentum(0.96, 0.99, 7, 10))


def test_linear_probe_config_loads_frozen_encoder(tmp_path):
    mae = build_mae()
    with torch.no_grad():
        mae.backbone.cls_token.fill_(0.123)
    ckpt = tmp_path / 'pre.pth'
    torch.save(dict(state_dict=mae.state_dict(), meta={}), ckpt)
    cfg = Config.fromfile(package_config_path('tessera_generative', 'mae/vit-micro-p4_linear-probe_fashion-mnist.py'))
    cfg.model.backbone.init_cfg.checkpoint = str(ckpt)
    clf = MODELS.build(cfg.model)
    clf.init_weights()
    assert torch.allclose(clf.backbone.cls_token, torch.full_like(clf.backbone.cls_token, 0.123))
    for k, v in mae.backbone.state_dict().items():
        assert torch.equal(clf.backbone.state_dict()[k], v), k
    trainable = {n for n, p in clf.named_parameters() if p.requires_grad}
    assert trainable == {'head.fc.weight', 'head.fc.bias'}
    feats = clf.extract_feat(torch.randn(4, 1, 28, 28))
    assert feats[-1].shape == (4, 96)


def test_pretrain_configs_build():
    for name in ('mae/mae_vit-micro-p4_fashion-mnist.py', 'sdae/sdae_vit-micro-p4_fashion-mnist.py'):
        cfg = Config.fromfile(package_config_path('tessera_generative', name))
        model = MODELS.build(cfg.model)
        assert model.backbone.len_keep == 12
    cfg = Config.fromfile(package_config_path('tessera_generative', 'sdae/sdae_vit-micro-p4_fashion-mnist.py'))
    sd = MODELS.build(cfg.model)
    assert isinstance(sd, SdAE) and sd.num_folds == 3 and sd.backbone.mask_ratio == 0.75


def test_fine_tune_config_loads_trainable_encoder(tmp_path):
    mae = build_mae()
    ckpt = tmp_path / 'pre.pth'
    torch.save(dict(state_dict=mae.state_dict(), meta={}), ckpt)
    cfg = Config.fromfile(package_config_path('tessera_generative', 'mae/vit-micro-p4_fine-tune_fashion-mnist.py'))
    cfg.model.backbone.init_cfg.checkpoint = str(ckpt)
    clf = MODELS.build(cfg.model)
    clf.init_weights()
    for k, v in mae.backbone.state_dict().items():
        assert torch.equal(clf.backbone.state_dict()[k], v), k
    assert all(p.requires_grad for p in clf.parameters())
    loss = clf(torch.randn(4, 1, 28, 28), [_sample(i) for i in range(4)], mode='loss')['loss']
    loss.backward()
    assert clf.backbone.layers[0].attn.qkv.weight.grad.abs().sum() > 0


def _sample(label):
    from tessera_core.structures import ClsDataSample
    s = ClsDataSample()
    s.set_gt_label(label)
    return s

"""RSC (arXiv:2007.02454): spatial and channel masks drop exactly the top fraction on hand-built
gradients, the official batch-selection rule (only confidence drops count, top round(N p)), the
challenge on a model whose gradients are known in closed form, reduction to the plain classifier,
gradients, the curriculum, bad arguments, and the digits config through mim."""
import json
import re

import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

from tessera_core.models import ImageClassifier
from tessera_core.models.classifiers import (RSCImageClassifier, rsc_channel_mask, rsc_select_samples,
                                             rsc_spatial_mask)
from tessera_core.models.classifiers.rsc_classifier import _drop_count
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample
from tessera_core.testing import run_mim

BACKBONE = dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8)
NECK = dict(type='GlobalAveragePooling')


def _samples(labels):
    return [ClsDataSample().set_gt_label(int(y)) for y in labels]


def test_official_drop_counts():
    """ceil(HW / 3) positions and ceil(C / 3.2) channels, as in the official code."""
    assert [_drop_count(hw, 1 / 3) for hw in (49, 16, 9, 4, 1)] == [17, 6, 3, 2, 1]
    assert [_drop_count(c, 1 / 3.2) for c in (512, 128, 8, 1)] == [160, 40, 3, 1]
    assert _drop_count(16, 0) == 0 and _drop_count(16, 1) == 16


def test_spatial_mask_drops_the_top_grad_cam_positions():
    """Channel weights mean_hw(grad) = (2, -1): Grad-CAM = 2 x0 - x1; the ceil(9/3) = 3 positions of
    largest value are zeroed, in every channel, per sample."""
    feats = torch.zeros(2, 2, 3, 3)
    feats[0, 0] = torch.arange(9.).reshape(3, 3)          # cam = 2 * (0..8): top 3 = positions 8, 7, 6
    feats[1, 0] = torch.tensor([[5., 0, 0], [0, 4, 0], [0, 0, 3]])
    feats[1, 1] = torch.tensor([[0., 0, 9], [0, 0, 0], [0, 0, 0]])  # cam at (0, 2) = -9: kept
    grads = torch.zeros(2, 2, 3, 3)
    grads[:, 0] = 2.0
    grads[:, 1, 0, 0] = -9.0  # mean over 9 positions: -1
    mask = rsc_spatial_mask(feats, grads, 1 / 3)
    assert mask.shape == (2, 1, 3, 3)
    assert torch.equal(mask[0, 0], torch.tensor([[1., 1, 1], [1, 1, 1], [0, 0, 0]]))
    assert torch.equal(mask[1, 0], torch.tensor([[0., 1, 1], [1, 0, 1], [1, 1, 0]]))
    assert (rsc_spatial_mask(feats, grads, 0.5) == 0).sum(dim=(1, 2, 3)).tolist() == [5, 5]


def test_channel_mask_drops_the_top_mean_gradient_channels():
    """C = 8: the ceil(8 / 3.2) = 3 channels of largest spatially averaged gradient, per sample."""
    importance = torch.tensor([[0.1, 0.9, -0.5, 0.3, 0.8, 0.0, 0.2, 0.7],
                               [5.0, -1.0, 4.0, 0.0, 0.0, 3.0, 0.0, -2.0]])
    grads = importance[:, :, None, None] * torch.ones(2, 8, 2, 2)
    grads[:, :, 0, 0] += 1.0   # any spatial pattern with the same mean
    grads[:, :, 1, 1] -= 1.0
    mask = rsc_channel_mask(grads, 1 / 3.2)
    assert mask.shape == (2, 8, 1, 1)
    assert torch.equal(mask[0].flatten(), torch.tensor([1., 0, 1, 1, 0, 1, 1, 0]))  # 0.9, 0.8, 0.7
    assert torch.equal(mask[1].flatten(), torch.tensor([0., 1, 0, 1, 1, 0, 1, 1]))  # 5, 4, 3


def test_batch_selection_rule():
    """Only samples whose true-class probability dropped by more than 1e-4 can be challenged, and of
    those only the round(N p) largest drops; same choice as the official sort-and-threshold code."""
    drop = torch.tensor([0.5, 0.1, -0.2, 0.3, 0.00005, 0.2])
    assert rsc_select_samples(drop, 1 / 3).tolist() == [True, False, False, True, False, False]
    assert rsc_select_samples(drop, 1.0).tolist() == [True, True, False, True, False, True]
    assert not rsc_select_samples(drop, 0.0).any()
    g = torch.Generator().manual_seed(3)
    for n, p in ((128, 0.3), (64, 1 / 3), (10, 0.5)):
        d = torch.randn(n, generator=g) * 0.1
        change = torch.clamp(d - 1e-4, min=0)                      # official
        th = torch.sort(change, descending=True)[0][int(round(n * p))]
        assert torch.equal(rsc_select_samples(d, p), change.gt(th))


def _synthetic(num_classes=4, **kwargs):
    """Backbone = identity on (N, 4, H, W) inputs, GAP, head = identity matrix: logit_y = mean of
    channel y. The true-class gradient is 1/HW on channel y and 0 elsewhere, so a channel challenge
    drops channel y and a spatial one the top positions of channel y -- always lowering p_y."""
    model = RSCImageClassifier(backbone=BACKBONE, neck=NECK, data_preprocessor=dict(type='ClsDataPreprocessor'),
                               head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=num_classes),
                               **kwargs)
    model.backbone = nn.Identity()
    model.head.fc.weight.data = torch.eye(num_classes)
    model.head.fc.bias.data.zero_()
    return model


@pytest.mark.parametrize('spatial', [True, False])
def test_only_the_selected_fraction_of_the_batch_is_challenged(spatial):
    model = _synthetic(spatial_prob=1.0 if spatial else 0.0, batch_percentage=1 / 3).train()
    labels = torch.arange(12) % 4
    feats = torch.rand(12, 4, 4, 4) * 0.5
    feats[torch.arange(12), labels] += torch.rand(12, 4, 4)  # the true class's channel dominates
    mask, was_spatial = model.challenge_mask((feats,), labels)
    assert was_spatial is spatial
    zeros = (mask == 0).flatten(1).sum(dim=1)
    challenged = zeros > 0
    assert challenged.sum().item() == 4  # round(12 / 3), every confidence drop is positive here
    if spatial:
        assert mask.shape == (12, 1, 4, 4) and set(zeros[challenged].tolist()) == {6}  # ceil(16/3)
        for i in torch.nonzero(challenged)[:, 0]:  # the dropped positions are the 6 largest of channel y
            top = feats[i, labels[i]].flatten().topk(6).indices
            assert (mask[i, 0].flatten()[top] == 0).all()
    else:
        assert mask.shape == (12, 4, 1, 1) and set(zeros[challenged].tolist()) == {2}  # ceil(4/3.2)
        assert (mask[challenged, labels[challenged], 0, 0] == 0).all()
    # the challenged ones are those with the largest confidence drops under the full mask
    grads = _true_grads(feats, labels)
    full_mask = rsc_spatial_mask(feats, grads, 1 / 3) if spatial else rsc_channel_mask(grads, 1 / 3.2)
    probs = torch.softmax(feats.mean(dim=(2, 3)), 1)[torch.arange(12), labels]
    drop = probs - torch.softmax((feats * full_mask).mean(dim=(2, 3)), 1)[torch.arange(12), labels]
    assert (drop > 0).all()
    assert set(torch.nonzero(challenged)[:, 0].tolist()) == set(drop.topk(4).indices.tolist())


def _true_grads(feats, labels):
    grads = torch.zeros_like(feats)
    grads[torch.arange(len(labels)), labels] = 1.0 / (feats.shape[2] * feats.shape[3])
    return grads


def test_loss_is_the_head_loss_on_the_masked_features():
    model = _synthetic(batch_percentage=0.5).train()
    feats = torch.rand(8, 4, 3, 3) + 0.1
    labels = torch.arange(8) % 4
    torch.manual_seed(5)
    losses = model.loss(feats, _samples(labels))
    torch.manual_seed(5)
    mask, spatial = model.challenge_mask((feats,), labels)
    manual = model.head.loss(model.neck((feats * mask,)), _samples(labels))
    assert torch.allclose(losses['loss'], manual['loss'])
    assert losses['rsc_challenged'].item() == 50.0 and losses['rsc_spatial'].item() == float(spatial)
    plain = model.head.loss(model.neck((feats,)), _samples(labels))
    assert losses['loss'] > plain['loss']  # the dominant features were removed


@pytest.mark.parametrize('kwargs', [dict(spatial_drop=0, channel_drop=0), dict(batch_percentage=0)])
def test_no_drop_reduces_to_the_plain_classifier(kwargs):
    cfg = dict(backbone=BACKBONE, neck=NECK, head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
    plain = ImageClassifier(**cfg).train()
    rsc = RSCImageClassifier(**cfg, **kwargs).train()
    rsc.load_state_dict(plain.state_dict())
    x = torch.randn(6, 1, 16, 16)
    samples = _samples(torch.arange(6))
    torch.manual_seed(1)
    a = plain(x, samples, mode='loss')
    torch.manual_seed(1)
    b = rsc(x, samples, mode='loss')
    assert torch.allclose(a['loss'], b['loss']) and 'rsc_challenged' not in b


def test_predict_and_tensor_modes_are_the_plain_classifier():
    cfg = dict(backbone=BACKBONE, neck=NECK, head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
    plain, rsc = ImageClassifier(**cfg).eval(), RSCImageClassifier(**cfg).eval()
    rsc.load_state_dict(plain.state_dict())
    x = torch.randn(3, 1, 16, 16)
    assert torch.allclose(plain(x, mode='tensor'), rsc(x, mode='tensor'))
    assert torch.equal(plain(x, mode='predict')[0].pred_label, rsc(x, mode='predict')[0].pred_label)


def test_gradients_flow_and_the_challenge_leaves_no_parameter_gradient():
    model = RSCImageClassifier(backbone=BACKBONE, neck=NECK, batch_percentage=1.0,
                               head=dict(type='LinearClsHead', num_classes=10, in_channels=64, dropout=0.2)).train()
    x, labels = torch.randn(8, 1, 16, 16), torch.arange(8)
    feats = model.backbone(x)
    model.challenge_mask(feats, labels)
    assert all(p.grad is None for p in model.parameters())
    assert model.head.training  # eval mode only during the challenge
    losses = model(x, _samples(labels), mode='loss')
    losses['loss'].backward()
    grads = [p.grad for p in model.backbone.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.head.fc.weight.grad.abs().sum() > 0 and losses['rsc_challenged'] > 0


def test_curriculum_follows_the_message_hub_epoch():
    model = _synthetic(batch_percentage=0.3, batch_percentage_curriculum=(0.2, 10))
    hub = MessageHub.get_current_instance()
    for epoch, expected in ((0, 0.3), (9, 0.3), (10, 0.5), (25, 0.7), (60, 1.0)):
        hub.update_info('epoch', epoch)
        assert model.current_batch_percentage() == pytest.approx(expected)
    hub.update_info('epoch', 0)
    assert _synthetic().current_batch_percentage() == pytest.approx(1 / 3)


def test_registered_and_bad_arguments():
    assert MODELS.get('RSCImageClassifier') is RSCImageClassifier
    head = dict(type='LinearClsHead', num_classes=10, in_channels=64)
    for bad in (dict(spatial_drop=1.5), dict(channel_drop=-0.1), dict(spatial_prob=2),
                dict(batch_percentage=1.01)):
        name = next(iter(bad))
        with pytest.raises(ValueError, match=rf'{name} must lie in \[0, 1\], got'):
            RSCImageClassifier(backbone=BACKBONE, head=head, **bad)
    with pytest.raises(ValueError, match=r'curriculum.*\(0.2, 0\)'):
        RSCImageClassifier(backbone=BACKBONE, head=head, batch_percentage_curriculum=(0.2, 0))
    with pytest.raises(ValueError, match='confidence_margin'):
        RSCImageClassifier(backbone=BACKBONE, head=head, confidence_margin=-1)
    model = _synthetic().train()
    with pytest.raises(ValueError, match=r'\(N, C, H, W\).*\(2, 4\)'):
        model.loss(torch.rand(2, 4), _samples([0, 1]))


@pytest.mark.slow
def test_rsc_config_trains_and_tests_cross_domain_through_mim(tmp_path):
    config = 'rsc/resnet18-w16_rsc_embedded-digits.py'
    out = run_mim(['train', 'tessera-core', config, '--work-dir', str(tmp_path), '--cfg-options',
                   'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=256',
                   'val_dataloader.dataset.indices=200',
                   'default_hooks.logger.interval=1']).stdout
    assert re.search(r'rsc_challenged: [\d.]+', out)
    assert re.search(r'Epoch\(val\) \[1\]\[\d+/\d+\]\s+accuracy/top1: [\d.]+', out)
    metrics_file = tmp_path / 'metrics.json'
    out = run_mim(['test', 'tessera-core', config, '--checkpoint', str(tmp_path / 'epoch_1.pth'), '--work-dir',
                   str(tmp_path), '--out', str(metrics_file)]).stdout
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
    assert 'Epoch(test) [9/9]' in out  # the 1,797 scikit-learn digits in batches of 200

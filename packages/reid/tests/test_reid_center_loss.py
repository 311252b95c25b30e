"""CenterLoss: the official formula, the centers' own SGD step (lr 0.5 on the unweighted gradient), untouched by
the main optimizer; BNNeckHead wiring on the pre-BN feature; random erasing's area range."""
import numpy as np
import pytest
import torch

from tessera_core.structures import ClsDataSample
from tessera_reid.datasets import RandomErasing
from tessera_reid.models import BNNeckHead, CenterLoss


def official_center_loss(x, labels, centers):
    # reid-strong-baseline layers/center_loss.py, written out: expanded distance matrix, mask, clamp, / batch
    b, c = x.size(0), centers.size(0)
    distmat = x.pow(2).sum(1, keepdim=True).expand(b, c) + centers.pow(2).sum(1, keepdim=True).expand(c, b).t()
    distmat = distmat - 2 * x @ centers.t()
    mask = labels[:, None].eq(torch.arange(c)[None, :])
    return (distmat * mask.float()).clamp(min=1e-12, max=1e12).sum() / b


def test_value_equals_formula_and_official_code():
    torch.manual_seed(0)
    loss = CenterLoss(num_classes=5, feat_dim=7, loss_weight=0.0005)
    x, labels = torch.randn(9, 7, dtype=torch.float64), torch.tensor([0, 0, 1, 3, 3, 3, 4, 1, 0])
    loss.double()
    value = loss(x, labels)
    by_hand = sum(((x[i] - loss.centers[labels[i]]) ** 2).sum() for i in range(9)) / 9
    assert value.item() == pytest.approx(0.0005 * by_hand.item(), rel=1e-12)
    # the official clamp turns the 9 x 4 masked zeros into 1e-12 each: 3.6e-11 apart
    assert value.item() == pytest.approx(0.0005 * official_center_loss(x, labels, loss.centers).item(), abs=1e-13)


def test_centers_take_one_sgd_step_on_the_unweighted_gradient():
    torch.manual_seed(1)
    lr, beta = 0.5, 0.0005
    loss = CenterLoss(num_classes=4, feat_dim=3, loss_weight=beta, center_lr=lr).double()
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 2, 2, 2, 3])
    before = loss.centers.clone()
    total = 2.0 + loss(x, labels)        # other loss terms do not touch the centers
    total.backward()
    expected = before.clone()
    for j in range(4):
        members = x.detach()[labels == j]
        grad = 2.0 / 6 * (before[j] - members).sum(0) if len(members) else torch.zeros(3, dtype=torch.float64)
        expected[j] = before[j] - lr * grad
    assert torch.allclose(loss.centers, expected, atol=1e-12, rtol=0)
    assert torch.equal(loss.centers[1], before[1])          # identity 1 not in the batch: unchanged
    # the features get the weighted gradient: d(beta * L_C)/dx_i = beta * 2 / B * (x_i - c_{y_i})
    assert torch.allclose(x.grad, beta * 2 / 6 * (x.detach() - before[labels]), atol=1e-15)


def test_centers_are_not_parameters_and_frozen_in_eval():
    loss = CenterLoss(num_classes=3, feat_dim=2)
    assert list(loss.parameters()) == [] and 'centers' in loss.state_dict()
    loss.eval()
    before = loss.centers.clone()
    x = torch.randn(4, 2, requires_grad=True)
    loss(x, torch.tensor([0, 1, 2, 0])).backward()
    assert torch.equal(loss.centers, before)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match='loss_weight must be > 0'):
        CenterLoss(3, 2, loss_weight=0)
    loss = CenterLoss(3, 2)
    with pytest.raises(ValueError, match=r'label outside \[0, 3\)'):
        loss(torch.randn(2, 2), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r'expects \(N, 2\) features'):
        loss(torch.randn(2, 5), torch.tensor([0, 1]))


def test_head_applies_center_loss_to_the_pre_bn_feature():
    torch.manual_seed(0)
    head = BNNeckHead(num_classes=3, in_channels=4,
                      loss_center=dict(type='CenterLoss', loss_weight=0.0005, center_lr=0.5))
    assert head.loss_center.centers.shape == (3, 4)
    feat = torch.randn(6, 4)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    losses = head.loss((feat,), [ClsDataSample().set_gt_label(int(y)) for y in labels])
    expected = 0.0005 * ((feat - head.loss_center.centers[labels]) ** 2).sum(1).mean()
    # the SGD hook has not fired yet (no backward): the centers are the ones the loss used
    assert losses['loss_center'].item() == pytest.approx(expected.item(), rel=1e-6)
    assert 'loss_center' not in BNNeckHead(num_classes=3, in_channels=4).loss(
        (feat,), [ClsDataSample().set_gt_label(int(y)) for y in labels])


def test_random_erasing_area_fraction_and_aspect_in_the_configured_range():
    img = np.zeros((200, 200), np.uint8)
    np.random.seed(0)
    fractions, aspects = [], []
    sl, sh, r1 = 0.1, 0.3, 0.5
    t = RandomErasing(prob=1.0, sl=sl, sh=sh, r1=r1, value=255)
    for _ in range(400):
        out = t(dict(img=img))
        top, left, h, w = out['erased_box']
        assert (out['img'] == 255).sum() == h * w
        fractions.append(h * w / img.size)
        aspects.append(h / w)
    fractions, aspects = np.array(fractions), np.array(aspects)
    # rounding h and w moves the area by at most about (h + w) / 2 pixels: < 0.3 % of 40,000 here
    assert fractions.min() >= sl - 0.003 and fractions.max() <= sh + 0.003
    assert fractions.min() < sl + 0.02 and fractions.max() > sh - 0.02    # the whole range is used
    assert aspects.min() >= r1 - 0.02 and aspects.max() <= 1 / r1 + 0.05

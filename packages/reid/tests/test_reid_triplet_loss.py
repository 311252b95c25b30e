"""Batch-hard triplet loss: closed forms, the official formula, and where the gradient goes."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tessera_reid.models.losses import TripletLoss, euclidean_dist, hard_example_mining


def official_triplet(feats, labels, margin):
    """reid-strong-baseline's TripletLoss (layers/triplet_loss.py), equal instances per identity."""
    n = feats.size(0)
    xx = feats.pow(2).sum(1, keepdim=True).expand(n, n)
    dist = (xx + xx.t() - 2 * feats @ feats.t()).clamp(min=1e-12).sqrt()
    is_pos = labels.expand(n, n).eq(labels.expand(n, n).t())
    is_neg = labels.expand(n, n).ne(labels.expand(n, n).t())
    dist_ap = dist[is_pos].contiguous().view(n, -1).max(1)[0]
    dist_an = dist[is_neg].contiguous().view(n, -1).min(1)[0]
    y = torch.ones_like(dist_an)
    if margin is None:
        return nn.SoftMarginLoss()(dist_an - dist_ap, y)
    return nn.MarginRankingLoss(margin=margin)(dist_an, dist_ap, y)


# 1-D features 0, 1, 3, 7 with identities 0, 0, 1, 1:
# anchor 0: hardest pos 1 (d=1), hardest neg 3 (d=3); anchor 1: d_ap=1, d_an=2 (to 3);
# anchor 2: d_ap=4 (to 7), d_an=2 (to 1); anchor 3: d_ap=4, d_an=6 (to 1).
FEATS = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
LABELS = torch.tensor([0, 0, 1, 1])


def test_euclidean_dist_matches_cdist():
    torch.manual_seed(0)
    x, y = torch.randn(5, 7), torch.randn(3, 7)
    assert torch.allclose(euclidean_dist(x, y), torch.cdist(x, y), atol=1e-5)
    assert torch.allclose(euclidean_dist(x, x).diagonal(), torch.full((5,), 1e-6), atol=1e-3)


def test_hard_example_mining_closed_form():
    dist_ap, dist_an, valid = hard_example_mining(euclidean_dist(FEATS, FEATS), LABELS)
    assert torch.allclose(dist_ap, torch.tensor([1.0, 1.0, 4.0, 4.0]), atol=1e-5)
    assert torch.allclose(dist_an, torch.tensor([3.0, 2.0, 2.0, 6.0]), atol=1e-5)
    assert valid.all()


def test_hinge_and_soft_margin_closed_forms():
    # only anchor 2 violates the margin: 4 - 2 + 0.3 = 2.3, averaged over the 4 anchors
    assert TripletLoss(margin=0.3)(FEATS, LABELS).item() == pytest.approx(2.3 / 4, abs=1e-5)
    soft = F.softplus(torch.tensor([1 - 3, 1 - 2, 4 - 2, 4 - 6.0])).mean()
    assert TripletLoss(margin=None)(FEATS, LABELS).item() == pytest.approx(soft.item(), abs=1e-5)
    assert TripletLoss(margin=0.3, loss_weight=2.0)(FEATS, LABELS).item() == pytest.approx(1.15, abs=1e-5)


@pytest.mark.parametrize('margin', [0.3, 1.0, None])
def test_matches_official_implementation(margin):
    torch.manual_seed(1)
    feats = torch.randn(16, 8)  # P=4 identities x K=4 instances
    labels = torch.arange(4).repeat_interleave(4)[torch.randperm(16)]
    ours = TripletLoss(margin=margin)(feats, labels)
    assert ours.item() == pytest.approx(official_triplet(feats, labels, margin).item(), abs=1e-5)


def test_gradient_reaches_only_the_hardest_triplets():
    feats = FEATS.clone().requires_grad_(True)
    TripletLoss(margin=0.3)(feats, LABELS).backward()
    # the only active triplet is (anchor 2, positive 3, negative 1): d(2,3) - d(2,1) = (7-3) - (3-1)
    # d/dx2 = -1 - 1 = -2, d/dx3 = +1, d/dx1 = +1 (descent pushes 1 away from 2, pulls 3 in); / 4 anchors
    assert torch.allclose(feats.grad.flatten(), torch.tensor([0.0, 1.0, -2.0, 1.0]) / 4, atol=1e-5)


def test_uses_unequal_identity_counts_and_singletons():
    feats = torch.tensor([[0.0], [1.0], [5.0], [2.0], [2.5]])
    labels = torch.tensor([0, 0, 0, 1, 2])  # identity 1 and 2 once: hardest positive = self (d ~ 0)
    loss = TripletLoss(margin=1.0)(feats, labels)
    # anchor: (d_ap, d_an) -> hinge: 0: (5, 2) -> 4; 1: (4, 1) -> 4; 2: (5, 2.5) -> 3.5; 3: (0, .5) -> .5;
    # 4: (0, .5) -> .5
    assert loss.item() == pytest.approx((4 + 4 + 3.5 + 0.5 + 0.5) / 5, abs=1e-4)


def test_no_negative_gives_zero_attached_loss():
    feats = torch.randn(4, 3, requires_grad=True)
    loss = TripletLoss()(feats, torch.zeros(4, dtype=torch.long))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(feats.grad, torch.zeros_like(feats))


def test_normalize_feature_is_scale_invariant():
    torch.manual_seed(2)
    feats, labels = torch.randn(8, 4), torch.arange(4).repeat(2)
    loss = TripletLoss(normalize_feature=True)
    assert loss(feats, labels).item() == pytest.approx(loss(feats * 7.0, labels).item(), abs=1e-5)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='margin'):
        TripletLoss(margin=-1)
    with pytest.raises(ValueError, match=r'\(N, D\)'):
        TripletLoss()(torch.randn(4, 2, 2), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match=r'\(N,\) labels'):
        TripletLoss()(torch.randn(4, 2), torch.zeros(3, dtype=torch.long))

"""Mixup and CutMix batch augments, soft labels through ClsDataPreprocessor, ClsHead and LabelSmoothLoss."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tessera_core.models import ClsDataPreprocessor, ImageClassifier, LabelSmoothLoss
from tessera_core.models.mixing import CutMix, Mixup, RandomBatchAugment, cutmix, cutmix_box, mixup
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample


def _distinct_batch(n=6, c=2, h=10, w=12):
    """Images whose every pixel tells which sample it came from (value = sample id + 1)."""
    ids = torch.arange(1, n + 1, dtype=torch.float32).view(n, 1, 1, 1)
    return ids.expand(n, c, h, w).clone()


def _onehot(labels, k=5):
    return F.one_hot(torch.as_tensor(labels), k).float()


def test_mixup_is_the_convex_combination_and_labels_sum_to_one():
    x = torch.randn(4, 3, 8, 8)
    y = _onehot([0, 1, 2, 3])
    index = torch.tensor([2, 0, 3, 1])
    mixed, scores = mixup(x, y, 0.3, index)
    assert torch.allclose(mixed, 0.3 * x + 0.7 * x[index])
    assert torch.allclose(scores.sum(1), torch.ones(4))
    for i in range(4):  # weight 0.3 on the own class, 0.7 on the partner's
        assert scores[i, i] == pytest.approx(0.3) and scores[i, int(index[i])] == pytest.approx(0.7)


def test_mixup_augment_label_weight_equals_the_image_weight():
    np.random.seed(3)
    aug = Mixup(alpha=1.0)
    x = _distinct_batch()
    y = _onehot([0, 1, 2, 3, 4, 0])
    mixed, scores = aug(x, y)
    lam, index = aug.last_lam, aug.last_index
    assert 0 < lam < 1
    own = torch.arange(1, 7, dtype=torch.float32)
    partner = own[index]
    # every pixel is lam * own + (1 - lam) * partner: recover lam from the image alone
    pix = mixed[:, 0, 0, 0]
    moved = partner != own
    recovered = (pix[moved] - partner[moved]) / (own[moved] - partner[moved])
    assert torch.allclose(recovered, torch.full_like(recovered, lam), atol=1e-6)
    assert torch.allclose(scores, lam * y + (1 - lam) * y[index])
    assert torch.allclose(scores.sum(1), torch.ones(6))


def test_cutmix_box_has_the_drawn_area_before_clipping():
    y1, y2, x1, x2 = cutmix_box(0.75, 32, 32, center=(16, 16))  # sqrt(0.25) = half of each side
    assert (y2 - y1, x2 - x1) == (16, 16)
    assert cutmix_box(0.75, 32, 32, center=(0, 0)) == (0, 8, 0, 8)  # clipped at the corner
    assert cutmix_box(1.0, 32, 32, center=(5, 5)) == (5, 5, 5, 5)  # empty box


@pytest.mark.parametrize('seed', range(5))
def test_cutmix_labels_match_the_pasted_area_exactly(seed):
    np.random.seed(seed)
    torch.manual_seed(seed)
    aug = CutMix(alpha=1.0)
    h, w = 10, 12
    x = _distinct_batch(h=h, w=w)
    y = _onehot([0, 1, 2, 3, 4, 0])
    mixed, scores = aug(x, y)
    index, (y1, y2, x1, x2) = aug.last_index, aug.last_box
    own = torch.arange(1, 7, dtype=torch.float32).view(6, 1, 1)
    from_partner = (mixed[:, 0] == own[index]) & (own[index] != own)
    for i in range(6):
        if int(index[i]) == i:
            continue
        pasted = int(from_partner[i].sum())  # pixels that came from the partner
        assert pasted == (y2 - y1) * (x2 - x1)
        assert aug.last_lam == 1 - pasted / (h * w)  # exactly the label weight of the sample itself
        inside = torch.zeros(h, w, dtype=torch.bool)
        inside[y1:y2, x1:x2] = True
        assert torch.equal(from_partner[i], inside)  # exactly the box, nothing else
    assert torch.allclose(scores, aug.last_lam * y + (1 - aug.last_lam) * y[index])
    assert torch.allclose(scores.sum(1), torch.ones(6))


def test_cutmix_function_returns_the_area_ratio():
    x = _distinct_batch(n=2, h=4, w=5)
    _, scores, lam = cutmix(x, _onehot([0, 1]), (1, 3, 0, 5), torch.tensor([1, 0]))
    assert lam == pytest.approx(1 - 10 / 20)
    assert torch.allclose(scores, torch.tensor([[0.5, 0.5, 0, 0, 0], [0.5, 0.5, 0, 0, 0]]))


def test_random_batch_augment_picks_by_probability():
    np.random.seed(0)
    aug = RandomBatchAugment(augments=[dict(type='Mixup', alpha=1.0), dict(type='CutMix', alpha=1.0)],
                             probs=[0.3, 0.5])
    counts = {'Mixup': 0, 'CutMix': 0, None: 0}
    x, y = torch.rand(4, 1, 8, 8), _onehot([0, 1, 2, 3])
    for _ in range(2000):
        out_x, out_y = aug(x, y)
        counts[type(aug.last).__name__ if aug.last is not None else None] += 1
        if aug.last is None:
            assert out_x is x and out_y is y
    assert abs(counts['Mixup'] / 2000 - 0.3) < 0.04
    assert abs(counts['CutMix'] / 2000 - 0.5) < 0.04
    assert abs(counts[None] / 2000 - 0.2) < 0.04


def _samples(labels):
    return [ClsDataSample().set_gt_label(int(v)) for v in labels]


def test_preprocessor_puts_soft_labels_in_gt_score_only_when_training():
    pre = ClsDataPreprocessor(mean=[0.0], std=[1.0], num_classes=5,
                              batch_augments=dict(augments=[dict(type='Mixup', alpha=1.0)]))
    data = dict(inputs=[torch.rand(1, 6, 6) * 255 for _ in range(4)], data_samples=_samples([0, 1, 2, 3]))
    out = pre(dict(inputs=list(data['inputs']), data_samples=_samples([0, 1, 2, 3])), training=False)
    assert all('gt_score' not in s for s in out['data_samples'])
    out = pre(data, training=True)
    lam, index = pre.batch_augments.last.last_lam, pre.batch_augments.last.last_index
    scores = torch.stack([s.gt_score for s in out['data_samples']])
    expected = lam * _onehot([0, 1, 2, 3]) + (1 - lam) * _onehot([0, 1, 2, 3])[index]
    assert torch.allclose(scores, expected)
    assert [int(s.gt_label) for s in out['data_samples']] == [0, 1, 2, 3]  # hard labels kept


def test_soft_labels_flow_through_the_head_loss():
    model = ImageClassifier(
        backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=5, in_channels=64,
                  loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0)))
    x = torch.rand(4, 1, 12, 12)
    soft = torch.tensor([[0.7, 0.3, 0, 0, 0], [0, 0.2, 0.8, 0, 0], [0, 0, 0, 1, 0], [0.5, 0, 0, 0, 0.5]])
    samples = _samples([0, 2, 3, 0])
    for s, row in zip(samples, soft):
        s.set_field(row, 'gt_score', dtype=torch.Tensor)
    losses = model(x, samples, mode='loss')
    logits = model(x, mode='tensor')
    expected = -(soft * logits.log_softmax(1)).sum(1).mean()
    assert torch.allclose(losses['loss'], expected, atol=1e-6)
    assert 'accuracy_top-1' not in losses  # no accuracy on mixed labels
    hard = model(x, _samples([0, 2, 3, 0]), mode='loss')
    assert 'accuracy_top-1' in hard and not torch.allclose(hard['loss'], losses['loss'])


def test_label_smooth_loss_soft_targets_equal_hard_ones_when_one_hot():
    logits = torch.randn(6, 4)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    for eps in (0.0, 0.1):
        loss = LabelSmoothLoss(eps)
        assert torch.allclose(loss(logits, y), loss(logits, F.one_hot(y, 4).float()), atol=1e-6)
    with pytest.raises(ValueError, match=r'soft labels of shape \(6, 3\)'):
        LabelSmoothLoss(0.0)(logits, torch.rand(6, 3))


@pytest.mark.parametrize('lam', [-0.1, 1.5, float('nan')])
def test_mixing_ratio_outside_unit_interval_is_refused(lam):
    x, y, index = torch.rand(2, 1, 4, 4), _onehot([0, 1]), torch.tensor([1, 0])
    with pytest.raises(ValueError, match=r'mixing ratio lam must lie in \[0, 1\]'):
        mixup(x, y, lam, index)
    with pytest.raises(ValueError, match=r'mixing ratio lam must lie in \[0, 1\]'):
        cutmix_box(lam, 4, 4)


def test_bad_augment_arguments_are_refused():
    with pytest.raises(ValueError, match=r'Mixup: alpha .* must be > 0, got -1.0'):
        Mixup(alpha=-1)
    with pytest.raises(ValueError, match=r'CutMix: alpha .* must be > 0, got 0.0'):
        CutMix(alpha=0)
    with pytest.raises(ValueError, match=r'probs must be >= 0 and sum to at most 1'):
        RandomBatchAugment([dict(type='Mixup', alpha=1.0), dict(type='CutMix', alpha=1.0)], probs=[0.7, 0.6])
    with pytest.raises(ValueError, match='2 entries for 1 augments'):
        RandomBatchAugment([dict(type='Mixup', alpha=1.0)], probs=[0.5, 0.5])
    with pytest.raises(ValueError, match=r'needs data_preprocessor.num_classes'):
        ClsDataPreprocessor(batch_augments=dict(augments=[dict(type='Mixup', alpha=1.0)]))


class _HardOnlyLoss(nn.Module):
    """A loss without soft-label support (no accepts_soft_labels)."""

    def forward(self, cls_score, label):
        return F.nll_loss(cls_score.log_softmax(1), label)


def _mixing_classifier(loss, preprocessor_classes=5):
    return ImageClassifier(
        backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=5, in_channels=64, loss=loss),
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0.0], std=[1.0], num_classes=preprocessor_classes,
                               batch_augments=dict(augments=[dict(type='CutMix', alpha=1.0)])))


def test_batch_augment_on_a_head_without_soft_label_support_is_refused_at_build_time():
    if 'HardOnlyLossForMixingTest' not in MODELS.module_dict:
        MODELS.register_module('HardOnlyLossForMixingTest', module=_HardOnlyLoss)
    with pytest.raises(ValueError, match=r'soft labels, but .* loss _HardOnlyLoss does not accept soft labels'):
        _mixing_classifier(dict(type='HardOnlyLossForMixingTest'))
    with pytest.raises(ValueError, match=r'num_classes=4 .* differs from head.num_classes=5'):
        _mixing_classifier(dict(type='LabelSmoothLoss', label_smooth_val=0.0), preprocessor_classes=4)


def test_the_head_still_refuses_soft_labels_it_cannot_take():
    """A batch carrying gt_score that reaches a hard-label loss another way (no batch augment configured)."""
    if 'HardOnlyLossForMixingTest' not in MODELS.module_dict:
        MODELS.register_module('HardOnlyLossForMixingTest', module=_HardOnlyLoss)
    model = ImageClassifier(
        backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=5, in_channels=64, loss=dict(type='HardOnlyLossForMixingTest')),
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0.0], std=[1.0]))
    samples = _samples([0, 1, 2, 3])
    for s in samples:
        s.gt_score = F.one_hot(s.gt_label, 5).float()[0]
    with pytest.raises(ValueError, match=r'soft labels .* loss _HardOnlyLoss does not accept soft labels'):
        model(torch.rand(4, 1, 8, 8), samples, mode='loss')

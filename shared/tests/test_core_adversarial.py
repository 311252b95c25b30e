"""FGSM and PGD (l-inf) against closed forms on linear models: the FGSM step is eps * sign of the
analytic cross-entropy gradient, both attacks reach the optimal vertex of a two-class linear model,
PGD stays in the ball and the valid range; adversarial accuracy through a real classifier's
preprocessor, eps = 0 equals clean accuracy, and bad arguments."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate

from tessera_core.analysis import adversarial_accuracy, classifier_logits_fn, fgsm, pgd
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample


def _linear(weight, bias=None):
    bias = torch.zeros(weight.shape[0], dtype=weight.dtype) if bias is None else bias
    return lambda x: x.flatten(1) @ weight.T + bias


def test_fgsm_step_is_eps_times_sign_of_the_analytic_gradient():
    """Logits W x + b: d CE / d x = W^T (softmax(W x + b) - onehot(y))."""
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(4, 6, generator=g, dtype=torch.float64)
    x = torch.rand(5, 1, 2, 3, generator=g, dtype=torch.float64) * 100 + 50
    y = torch.tensor([0, 1, 2, 3, 0])
    probs = F.softmax(x.flatten(1) @ weight.T, dim=1)
    grad = (probs - F.one_hot(y, 4).double()) @ weight
    adv = fgsm(_linear(weight), x, y, eps=3.0)
    assert torch.allclose(adv, x + 3.0 * grad.sign().reshape(x.shape))


def test_fgsm_clips_to_the_valid_range():
    weight = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    x = torch.tensor([[[[254.0, 1.0]]]])  # class 0 wants the first pixel up, the attack pushes it down
    adv = fgsm(_linear(weight), x, torch.tensor([1]), eps=5.0)   # true class 1: push toward class 0
    assert adv.tolist() == [[[[255.0, 0.0]]]]


def test_both_attacks_reach_the_optimal_vertex_of_a_two_class_linear_model():
    """CE of a two-class linear model grows with (w_other - w_true) . x, so the worst point of the
    l-inf ball (away from the range limits) is x + eps * sign(w_other - w_true)."""
    g = torch.Generator().manual_seed(1)
    weight = torch.randn(2, 8, generator=g, dtype=torch.float64) * 0.1  # logits stay unsaturated
    x = torch.full((3, 1, 2, 4), 100.0, dtype=torch.float64) + torch.rand(3, 1, 2, 4, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 0])
    direction = torch.stack([weight[1 - int(c)] - weight[int(c)] for c in y]).sign().reshape(x.shape)
    optimum = x + 4.0 * direction
    assert torch.allclose(fgsm(_linear(weight), x, y, 4.0), optimum)
    adv = pgd(_linear(weight), x, y, 4.0, steps=20, generator=g)
    assert torch.allclose(adv, optimum)


def test_pgd_stays_in_the_ball_and_range_and_one_plain_step_is_fgsm():
    g = torch.Generator().manual_seed(2)
    weight = torch.randn(3, 4, generator=g)
    x = torch.tensor([0.0, 2.0, 253.0, 255.0]).reshape(1, 1, 2, 2).repeat(6, 1, 1, 1)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    adv = pgd(_linear(weight), x, y, eps=8.0, steps=7, generator=g)
    assert ((adv - x).abs() <= 8.0 + 1e-5).all() and adv.min() >= 0 and adv.max() <= 255
    one_step = pgd(_linear(weight), x, y, eps=8.0, steps=1, step_size=8.0, random_start=False)
    assert torch.equal(one_step, fgsm(_linear(weight), x, y, 8.0))


def test_pgd_raises_the_loss_of_a_nonlinear_model():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 32), torch.nn.Tanh(), torch.nn.Linear(32, 3))
    x, y = torch.rand(10, 1, 4, 4) * 255, torch.randint(0, 3, (10,))

    def logits_fn(inputs):
        return net(inputs / 255)
    clean_loss = F.cross_entropy(logits_fn(x), y)
    adv_loss = F.cross_entropy(logits_fn(pgd(logits_fn, x, y, eps=20.0, steps=10)), y)
    assert adv_loss > clean_loss


def _classifier():
    torch.manual_seed(0)
    return MODELS.build(dict(type='ImageClassifier',
                             data_preprocessor=dict(type='ClsDataPreprocessor', mean=[72.94], std=[90.02],
                                                    num_channels=3),
                             backbone=dict(type='ResNet', depth=18, in_channels=3, stem='small', base_channels=8),
                             neck=dict(type='GlobalAveragePooling'),
                             head=dict(type='LinearClsHead', num_classes=10, in_channels=64)))


def _batches(n=12, batch=5):
    g = torch.Generator().manual_seed(3)
    items = [dict(inputs=(torch.rand(1, 16, 16, generator=g) * 255).to(torch.uint8),
                  data_samples=ClsDataSample().set_gt_label(i % 10)) for i in range(n)]
    return [pseudo_collate(items[i:i + batch]) for i in range(0, n, batch)]


def test_logits_fn_goes_through_the_classifiers_own_preprocessor():
    model = _classifier().eval()
    batch = _batches()[0]
    expected = model(**model.data_preprocessor(batch, False), mode='tensor')
    raw = torch.stack(batch['inputs']).float()
    assert torch.allclose(classifier_logits_fn(model)(raw), expected, atol=1e-6)


def test_adversarial_accuracy_counts_and_eps_zero_is_clean():
    model = _classifier()
    batches = _batches()
    result = adversarial_accuracy(model, batches, eps=[0.0, 8.0], pgd_steps=3)
    assert set(result) == {'clean', 'fgsm@0', 'fgsm@8', 'pgd3@0', 'pgd3@8', 'samples'}
    assert result['samples'] == 12
    preds = [s.pred_label.item() for b in batches for s in model.test_step(b)]
    clean = 100.0 * sum(p == i % 10 for i, p in enumerate(preds)) / 12
    assert result['clean'] == pytest.approx(clean)
    assert result['fgsm@0'] == result['pgd3@0'] == result['clean']
    assert result['pgd3@8'] <= result['clean']
    capped = adversarial_accuracy(model, batches, eps=[8.0], pgd_steps=2, max_samples=7)
    assert capped['samples'] == 7


def test_bad_arguments():
    f = _linear(torch.eye(2))
    x, y = torch.zeros(1, 1, 1, 2), torch.tensor([0])
    with pytest.raises(ValueError, match='eps must be >= 0'):
        fgsm(f, x, y, -1.0)
    with pytest.raises(ValueError, match='steps must be >= 1'):
        pgd(f, x, y, 1.0, steps=0)
    with pytest.raises(ValueError, match='lower < upper'):
        pgd(f, x, y, 1.0, lower=1.0, upper=0.0)
    with pytest.raises(ValueError, match='no samples'):
        adversarial_accuracy(_classifier(), [], eps=[1.0])

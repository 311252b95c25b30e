"""KD (Hinton et al.) and InfoNCE (MoCo) equal their formulas on hand-set inputs."""
import math

import pytest
import torch

from tessera_compression.models.losses import InfoNCELoss, KLDivergence, kd_loss


def _softmax(row, t):
    e = [math.exp(v / t) for v in row]
    return [v / sum(e) for v in e]


def _kd_by_hand(student, teacher, t):
    """T^2 * mean over rows of sum_k p_t log(p_t / p_s), written out with floats."""
    total = 0.0
    for s_row, t_row in zip(student, teacher):
        p_s, p_t = _softmax(s_row, t), _softmax(t_row, t)
        total += sum(pt * math.log(pt / ps) for pt, ps in zip(p_t, p_s))
    return t * t * total / len(student)


@pytest.mark.parametrize('tau', [1.0, 2.0, 4.0])
def test_kd_equals_the_formula_with_t_squared(tau):
    student = [[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]]
    teacher = [[3.0, 1.0, 0.0], [0.0, 0.0, 4.0]]
    loss = KLDivergence(tau=tau, loss_weight=0.5)(torch.tensor(student), torch.tensor(teacher))
    assert loss.item() == pytest.approx(0.5 * _kd_by_hand(student, teacher, tau), rel=1e-6)
    # the T^2 factor: the same divergence without it is smaller by exactly tau^2
    plain = torch.nn.functional.kl_div(torch.log_softmax(torch.tensor(student) / tau, 1),
                                       torch.softmax(torch.tensor(teacher) / tau, 1), reduction='batchmean')
    assert kd_loss(torch.tensor(student), torch.tensor(teacher), tau).item() == pytest.approx(
        tau ** 2 * plain.item(), rel=1e-6)


def test_kd_is_zero_for_equal_logits_and_detaches_the_teacher():
    s = torch.randn(4, 10, requires_grad=True)
    t = s.detach().clone().requires_grad_(True)
    loss = KLDivergence(tau=3.0)(s, t)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    KLDivergence(tau=3.0)(s, torch.randn(4, 10)).backward()
    assert s.grad is not None
    t2 = torch.randn(4, 10, requires_grad=True)
    KLDivergence(tau=3.0)(torch.randn(4, 10, requires_grad=True), t2).backward()
    assert t2.grad is None  # teacher_detach=True
    KLDivergence(tau=3.0, teacher_detach=False)(torch.randn(4, 10, requires_grad=True), t2).backward()
    assert t2.grad is not None


def test_kd_bad_arguments():
    with pytest.raises(ValueError, match='valid'):
        KLDivergence(reduction='avg')
    with pytest.raises(ValueError, match='shape'):
        KLDivergence()(torch.zeros(2, 3), torch.zeros(2, 4))


def test_info_nce_equals_cross_entropy_formula():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[0.6, 0.8], [0.0, 1.0]])
    neg = torch.tensor([[0.0, 1.0], [-1.0, 0.0], [0.8, -0.6]])
    t = 0.5
    rows = [[0.6, 0.0, -1.0, 0.8], [1.0, 1.0, 0.0, -0.6]]  # [q.k+, q.neg_1, q.neg_2, q.neg_3]
    by_hand = sum(-math.log(math.exp(r[0] / t) / sum(math.exp(v / t) for v in r)) for r in rows) / 2
    assert InfoNCELoss(temperature=t)(q, k, neg).item() == pytest.approx(by_hand, rel=1e-6)
    assert InfoNCELoss(temperature=t, loss_weight=2.0)(q, k, neg).item() == pytest.approx(2 * by_hand, rel=1e-6)
    with pytest.raises(ValueError, match='negatives'):
        InfoNCELoss()(q, k, torch.zeros(3, 5))

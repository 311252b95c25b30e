"""BNM (arXiv:2003.12237) and FBNM (arXiv:2107.06154): nuclear norm on hand-built matrices and
against numpy's SVD, the official normalisations, invariances, the discriminability/diversity
property, FBNM's definition and where it approximates BNM, closed-form gradients, bad arguments."""
import numpy as np
import pytest
import torch

from tessera_core.models.losses import BNMLoss, batch_nuclear_norm
from tessera_core.registry import MODELS


def _probs(*rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_nuclear_norm_of_hand_built_matrices():
    """Sum of singular values: diag(3, 4) -> 7; all-ones 2x2 (rank 1, sigma = 2) -> 2;
    [[1, 2], [2, 1]] (eigenvalues 3, -1) -> 4."""
    assert batch_nuclear_norm(_probs([3, 0], [0, 4])).item() == pytest.approx(7)
    assert batch_nuclear_norm(_probs([1, 1], [1, 1])).item() == pytest.approx(2)
    assert batch_nuclear_norm(_probs([1, 2], [2, 1])).item() == pytest.approx(4)
    # FBNM on the same: column norms sqrt(5), sqrt(5) -> 2 sqrt(5) >= 4
    assert batch_nuclear_norm(_probs([1, 2], [2, 1]), 'fast').item() == pytest.approx(2 * 5 ** 0.5)


@pytest.mark.parametrize('normalization,denominator', [('batch', 6), ('rank', 4), ('none', 1)])
def test_loss_is_minus_nuclear_norm_of_softmax_over_the_official_normaliser(normalization, denominator):
    """B = 6, C = 4: 'batch' divides by B (paper Eq. 11, official UODR/SSL), 'rank' by min(B, C)
    (official DA script: mean of the singular values), checked against numpy's SVD."""
    logits = torch.randn(6, 4, dtype=torch.float64) * 3
    probs = torch.softmax(logits, dim=1).numpy()
    nuclear = np.linalg.svd(probs, compute_uv=False).sum()
    loss = BNMLoss(loss_weight=0.5, normalization=normalization)(logits)
    assert loss.item() == pytest.approx(-0.5 * nuclear / denominator)
    official_da = -torch.mean(torch.linalg.svdvals(torch.softmax(logits, 1)))  # DA/BNM/train_image.py
    if normalization == 'rank':
        assert loss.item() == pytest.approx(0.5 * official_da.item())


def test_invariant_to_sample_and_class_order():
    logits = torch.randn(8, 5, dtype=torch.float64)
    loss = BNMLoss()
    ref = loss(logits)
    assert torch.allclose(loss(logits[torch.randperm(8)]), ref)
    assert torch.allclose(loss(logits[:, torch.randperm(5)]), ref)
    for approx in (None, 'fast'):
        assert torch.allclose(batch_nuclear_norm(torch.softmax(logits[torch.randperm(8)], 1), approx),
                              batch_nuclear_norm(torch.softmax(logits, 1), approx))


def test_rewards_diversity_at_equal_confidence():
    """Same Frobenius norm (all rows one-hot), but predictions spread over two classes have nuclear
    norm 2 sqrt(B/2) = sqrt(2B) against sqrt(B) when every sample predicts the same class."""
    same = torch.zeros(8, 3, dtype=torch.float64)
    same[:, 0] = 1
    spread = torch.zeros(8, 3, dtype=torch.float64)
    spread[::2, 0] = 1
    spread[1::2, 1] = 1
    assert batch_nuclear_norm(same).item() == pytest.approx(8 ** 0.5)
    assert batch_nuclear_norm(spread).item() == pytest.approx(16 ** 0.5)
    # and confident predictions beat uncertain ones of the same argmax
    confident = BNMLoss()(torch.tensor([[8., 0, 0], [0, 8., 0], [0, 0, 8.]]))
    unsure = BNMLoss()(torch.tensor([[1., 0, 0], [0, 1., 0], [0, 0, 1.]]))
    assert confident < unsure


def test_fbnm_is_its_definition():
    """Sum of the min(B, C) largest column L2 norms -- C > B keeps only B columns."""
    probs = torch.softmax(torch.randn(3, 5, dtype=torch.float64), dim=1)
    col = np.sqrt((probs.numpy() ** 2).sum(axis=0))
    assert batch_nuclear_norm(probs, 'fast').item() == pytest.approx(np.sort(col)[::-1][:3].sum())
    logits = torch.randn(7, 4, dtype=torch.float64)
    p = torch.softmax(logits, 1)
    official = -torch.mean(torch.sort(torch.sqrt(torch.sum(p ** 2, dim=0)), descending=True)[0][:4])
    assert BNMLoss(approximation='fast', normalization='rank')(logits).item() == pytest.approx(official.item())


def test_fbnm_approximates_bnm_where_predictions_are_confident():
    """One-hot rows: orthogonal columns, FBNM == BNM exactly. With C <= B FBNM is an upper bound
    (triangle inequality), tight for confident predictions and loose for uniform ones."""
    onehot = torch.eye(4, dtype=torch.float64)[torch.tensor([0, 1, 1, 3, 2, 0, 1])]
    assert batch_nuclear_norm(onehot, 'fast').item() == pytest.approx(batch_nuclear_norm(onehot).item())
    logits = torch.randn(16, 4, dtype=torch.float64)
    gaps = []
    for temperature in (0.05, 1.0, 100.0):
        p = torch.softmax(logits / temperature, dim=1)
        exact, fast = batch_nuclear_norm(p).item(), batch_nuclear_norm(p, 'fast').item()
        assert fast >= exact - 1e-9
        gaps.append((fast - exact) / exact)
    assert gaps[0] < 1e-3 < gaps[1] < gaps[2]  # near one-hot -> tight; near uniform -> ~ sqrt(C) - 1
    assert gaps[2] == pytest.approx(4 ** 0.5 - 1, rel=0.05)


def test_gradients_have_the_closed_forms():
    """d||P||_*/dP = U V^T; d FBNM/dP = the kept columns divided by their norms."""
    p = torch.softmax(torch.randn(6, 4, dtype=torch.float64), 1).requires_grad_(True)
    batch_nuclear_norm(p).backward()
    u, _, vh = torch.linalg.svd(p.detach(), full_matrices=False)
    assert torch.allclose(p.grad, u @ vh)
    q = torch.softmax(torch.randn(3, 5, dtype=torch.float64), 1).requires_grad_(True)
    batch_nuclear_norm(q, 'fast').backward()
    col = q.detach().norm(dim=0)
    kept = torch.zeros(5, dtype=torch.bool)
    kept[col.topk(3).indices] = True
    assert torch.allclose(q.grad, torch.where(kept, q.detach() / col, torch.zeros_like(q)))


@pytest.mark.parametrize('approximation', [None, 'fast'])
def test_gradient_flows_to_logits_and_a_step_raises_the_nuclear_norm(approximation):
    logits = torch.randn(10, 4, requires_grad=True)
    loss = MODELS.build(dict(type='BNMLoss', approximation=approximation))
    value = loss(logits)
    value.backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    with torch.no_grad():
        assert loss(logits - 0.5 * logits.grad) < value


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"'svd'.*None, 'fast'"):
        BNMLoss(approximation='svd')
    with pytest.raises(ValueError, match=r"'mean'.*'batch', 'rank', 'none'"):
        BNMLoss(normalization='mean')
    with pytest.raises(ValueError, match=r'\(4,\)'):
        BNMLoss()(torch.randn(4))
    with pytest.raises(ValueError, match='batch >= 1'):
        BNMLoss()(torch.randn(0, 4))
    with pytest.raises(ValueError, match='fast'):
        batch_nuclear_norm(torch.rand(3, 3), 'top')

"""TAL-MR: the two mutual regularizers (zero exactly on consistent hand-built curves, hand-computed values
otherwise, gradients pointing towards consistency), the phase and regression losses, the official targets,
proposal generation and soft-NMS on hand-built curves, and the localizer's loss / predict paths."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from tessera_video.models.localizers import TALMR, boundary_candidates, generate_proposals, pair_boundaries, soft_nms
from tessera_video.models.localizers.tal_mr import output_centers, tal_mr_targets
from tessera_video.models.losses.tal_mr_losses import (boundary_regression_loss, inter_consistency_loss,
                                                       intra_consistency_loss, phase_classification_loss,
                                                       tal_mr_losses)


def t(x, grad=False):
    return torch.tensor([x], dtype=torch.float64, requires_grad=grad)


# ---------------------------------------------------------------- IntraC
def test_intra_consistency_is_zero_on_consistent_curves():
    gt = t([0, 0, 1, 1, 1, 0, 0, 0])
    terms = intra_consistency_loss(gt.clone(), gt)
    assert [float(x) for x in terms] == pytest.approx([0, 0, 0], abs=1e-6)


def test_intra_consistency_hand_computed():
    gt, prob = t([1, 1, 0, 0]), t([0.9, 0.5, 0.2, 0.0])
    pos_pos, pos_neg, neg_neg = intra_consistency_loss(prob, gt)
    # positives differ by 0.4; negatives by 0.2; pos-neg |.|: 0.7, 0.9, 0.3, 0.5 -> mean 0.6 -> 1 - 0.6
    assert float(pos_pos) == pytest.approx(0.4, abs=1e-6)
    assert float(neg_neg) == pytest.approx(0.2, abs=1e-6)
    assert float(pos_neg) == pytest.approx(0.4, abs=1e-6)


def test_intra_consistency_positive_when_inconsistent_and_gradient_restores_consistency():
    gt = t([1, 1, 1, 0, 0, 0])
    prob = t([1.0, 1.0, 0.5, 0.0, 0.5, 0.0], grad=True)
    loss = sum(intra_consistency_loss(prob, gt))
    assert loss.item() > 0.1
    loss.backward()
    g = prob.grad[0]
    assert g[2] < 0   # a hesitant positive is pushed up
    assert g[4] > 0   # a hesitant negative is pushed down


def test_intra_consistency_respects_the_mask():
    gt = t([1, 1, 0, 0, 0])
    prob = t([1.0, 1.0, 0.0, 0.0, 0.7])
    mask = t([1, 1, 1, 1, 0])
    assert float(sum(intra_consistency_loss(prob, gt, mask))) == pytest.approx(0, abs=1e-6)
    assert float(sum(intra_consistency_loss(prob, gt))) > 0.1


# ---------------------------------------------------------------- InterC
def test_inter_consistency_is_zero_on_consistent_curves():
    a = t([0, 0, 1, 1, 1, 0, 0])
    s = t([0, 1, 0, 0, 0, 0, 0])   # forward difference a[t+1] - a[t] > 0 at t = 1
    e = t([0, 0, 0, 0, 1, 0, 0])   # < 0 at t = 4
    start_term, end_term = inter_consistency_loss(a, s, e)
    assert float(start_term) == 0 and float(end_term) == 0


def test_inter_consistency_hand_computed_and_gradients():
    a = t([0, 0, 1, 1, 1, 0, 0])
    s = t([0, 0, 0, 0, 0, 0, 0], grad=True)
    e = t([0, 0, 0, 0, 1, 0, 0.5], grad=True)
    start_term, end_term = inter_consistency_loss(a, s, e)
    assert start_term.item() == pytest.approx(1 / 7) and end_term.item() == pytest.approx(0.5 / 7)
    (start_term + end_term).backward()
    assert s.grad[0, 1] == pytest.approx(-1 / 7)   # the missing start at the rise is pulled up
    assert e.grad[0, 6] == pytest.approx(1 / 7)    # the spurious end is pushed down
    assert e.grad[0, 4] == 0 and s.grad[0, 0] == 0  # (a kink at 0 diff: torch's sign(0) = 0)


def test_inter_consistency_gradient_flattens_an_unsupported_rise():
    a = t([0.2, 0.6], grad=True)   # delta = [0.4, 0.4] (last repeated); no start predicted
    zeros = t([0.0, 0.0])
    start_term, end_term = inter_consistency_loss(a, zeros, zeros)
    assert start_term.item() == pytest.approx(0.4) and end_term.item() == 0
    start_term.backward()
    assert a.grad[0].tolist() == pytest.approx([-1.0, 1.0])


# ---------------------------------------------------------------- main losses
def test_phase_classification_loss_is_bsn_weighted_logistic():
    prob, gt = t([0.8, 0.4, 0.1]), t([1, 0, 0])
    expected = 0.5 * (-math.log(0.8) - 0.5 * (math.log(0.6) + math.log(0.9)))
    assert float(phase_classification_loss(prob, gt)) == pytest.approx(expected, rel=1e-5)
    # BSN's form: coef_1 = 0.5 * T / T_pos on positives, coef_0 = 0.5 * T / T_neg on negatives, mean over T
    n, npos = 3, 1
    bsn = -(0.5 * n / npos * math.log(0.8) + 0.5 * n / (n - npos) * (math.log(0.6) + math.log(0.9))) / n
    assert float(phase_classification_loss(prob, gt)) == pytest.approx(bsn, rel=1e-5)


def test_boundary_regression_loss_averages_over_weighted_positions():
    pred, target, weight = t([0.5, 3.0, 9.0]), t([0.0, 0.0, 0.0]), t([1, 1, 0])
    # Huber(0.5) = 0.125, Huber(3) = 2.5, the unweighted position ignored
    assert float(boundary_regression_loss(pred, target, weight)) == pytest.approx((0.125 + 2.5) / 2)
    assert float(boundary_regression_loss(pred, target, t([0, 0, 0]))) == 0


def test_total_loss_weights_and_logged_values():
    torch.manual_seed(0)
    pred = {k: torch.rand(2, 8) for k in ('action', 'start', 'end')}
    pred.update(start_offset=torch.randn(2, 8), end_offset=torch.randn(2, 8))
    target = {k: (torch.rand(2, 8) > 0.5).float() for k in ('action', 'start', 'end')}
    target.update(start_offset=torch.randn(2, 8), end_offset=torch.randn(2, 8), mask=torch.ones(2, 8))
    full = tal_mr_losses(pred, target)
    base = tal_mr_losses(pred, target, dict(intra=0.0, inter=0.0))
    assert float(full['loss_intra']) == pytest.approx(float(full['intra'])) and float(full['intra']) > 0
    assert float(base['loss_intra']) == 0 and float(base['loss_inter']) == 0
    assert float(base['intra']) == pytest.approx(float(full['intra']))   # still logged
    assert float(full['intra']) == pytest.approx(sum(float(full[f'intra_{k}']) for k in ('action', 'start', 'end')))
    with pytest.raises(KeyError, match='valid'):
        tal_mr_losses(pred, target, dict(intrac=1.0))


# ---------------------------------------------------------------- targets
def test_official_targets_on_a_hand_built_segment():
    centers = 0.2 + 0.2 * np.arange(20)       # 4-frame snippets every 2 frames at 10 fps
    out = tal_mr_targets(np.array([[1.0, 3.0]]), centers)
    # action: idx(1.0) = 4 .. idx(3.0) = 14; start region [0.8, 1.2] -> 3..5; end [2.8, 3.2] -> 13..15
    assert np.flatnonzero(out['action']).tolist() == list(range(4, 15))
    assert np.flatnonzero(out['start']).tolist() == [3, 4, 5]
    assert np.flatnonzero(out['end']).tolist() == [13, 14, 15]
    np.testing.assert_allclose(out['start_offset'][3:6], [0.2, 0.0, -0.2], atol=1e-6)
    np.testing.assert_allclose(out['end_offset'][13:16], [0.2, 0.0, -0.2], atol=1e-6)
    assert out['start_offset'][:3].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match='end 1.0 < start 2.0'):
        tal_mr_targets(np.array([[2.0, 1.0]]), centers)


def test_output_centers_of_a_strided_base():
    centers = 0.2 + 0.2 * np.arange(8)
    np.testing.assert_allclose(output_centers(centers, 1, 8), centers)
    np.testing.assert_allclose(output_centers(centers, 4, 2), [0.5, 1.3])   # means of 0.2..0.8 and 1.0..1.6


# ---------------------------------------------------------------- proposals
START = np.array([0.1, 0.9, 0.1, 0.1, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1])
END = np.array([0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.6, 0.1, 0.1])


def test_boundary_candidates_threshold_and_peaks():
    # above (0.9 + 0.1) / 2: index 1; strict peaks: 1 and 4
    assert np.flatnonzero(boundary_candidates(START)).tolist() == [1, 4]
    assert np.flatnonzero(boundary_candidates(END)).tolist() == [3, 7]
    assert np.flatnonzero(boundary_candidates(np.array([0.2, 0.8, 0.8, 0.1]))).tolist() == [1, 2]  # plateau


def test_pairing_scores_duration_and_end_limit():
    pairs = pair_boundaries(START, END)
    assert [(s, e) for s, e, _ in pairs] == [(1, 3), (1, 7), (4, 7)]
    assert [p[2] for p in pairs] == pytest.approx([0.72, 0.54, 0.18])
    assert [(s, e) for s, e, _ in pair_boundaries(START, END, max_duration=4)] == [(1, 3), (4, 7)]
    assert [(s, e) for s, e, _ in pair_boundaries(START, END, max_ends_per_start=1)] == [(1, 3), (4, 7)]


def test_pairing_fallbacks():
    flat = np.full(6, 0.3)
    assert [(s, e) for s, e, _ in pair_boundaries(flat, flat)] == [(0, 5)]
    late_start = np.array([0.1, 0.1, 0.1, 0.1, 0.9, 0.1])
    early_end = np.array([0.1, 0.9, 0.1, 0.1, 0.1, 0.1])
    # every start (4) after every end (1): 0 joins the starts, 5 the ends
    assert [(s, e) for s, e, _ in pair_boundaries(late_start, early_end)] == [(0, 1), (0, 5), (4, 5)]


def test_soft_nms_decays_only_strong_overlaps():
    rows = np.array([[0, 10, 0.9], [1, 10, 0.8], [20, 30, 0.5], [0, 5, 0.4]])
    kept = soft_nms(rows)
    # [1, 10] overlaps [0, 10] with tIoU 0.9 > 0.7: 0.8 * exp(-0.81 / 0.75); [0, 5] (tIoU 0.5) is untouched
    decayed = 0.8 * math.exp(-0.81 / 0.75)
    np.testing.assert_allclose(kept, [[0, 10, 0.9], [20, 30, 0.5], [0, 5, 0.4], [1, 10, decayed]])
    assert len(soft_nms(rows, max_num=2)) == 2


def test_generate_proposals_adds_offsets_and_clips():
    centers = 0.5 + np.arange(10)
    so, eo = np.zeros(10), np.zeros(10)
    so[1], eo[3] = -0.25, 0.25
    props = generate_proposals(START, END, centers, so, eo, duration=10.0, soft_nms_cfg=False)
    np.testing.assert_allclose(props, [[1.25, 3.75, 0.72], [1.25, 7.5, 0.54], [4.5, 7.5, 0.18]])
    so[4] = -9.0   # regressed start clipped at 0
    props = generate_proposals(START, END, centers, so, eo, duration=10.0, soft_nms_cfg=False)
    assert props[-1].tolist() == pytest.approx([0.0, 7.5, 0.18])


# ---------------------------------------------------------------- the localizer
def _samples(n, t=32, classes=4):
    rng = np.random.RandomState(0)
    out = []
    for i in range(n):
        out.append(BaseDataElement(metainfo=dict(
            video_id=f'v{i}', snippet_centers=0.2 + 0.2 * np.arange(t), gt_segments=np.array([[1.0, 2.6], [4.0, 5.0]]),
            gt_labels=np.array([1, 3]), duration_second=6.6, cls_scores=rng.dirichlet(np.ones(classes), size=t))))
    return out


def test_localizer_loss_backward_and_baseline_weights():
    torch.manual_seed(0)
    model = TALMR(in_channels=16, base_layers=[(32, 9, 1), (32, 9, 1)], head_channels=16)
    feats = torch.randn(2, 16, 32)
    losses = model(feats, _samples(2), mode='loss')
    assert {'loss_cls', 'loss_reg', 'loss_intra', 'loss_inter', 'intra', 'inter'} <= set(losses)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert all(p.grad is not None for p in model.parameters())
    base = TALMR(in_channels=16, base_layers=[(32, 9, 1)], head_channels=16, loss_weights=dict(intra=0, inter=0))
    out = base(feats, _samples(2), mode='loss')
    assert float(out['loss_intra']) == 0 and float(out['intra']) > 0
    with pytest.raises(KeyError, match='valid'):
        TALMR(in_channels=16, loss_weights=dict(interc=1))


def test_localizer_predict_outputs_labelled_proposals():
    torch.manual_seed(0)
    model = TALMR(in_channels=16, base_layers=[(32, 9, 2)], head_channels=16).eval()
    preds = model([torch.randn(16, 32)], _samples(1), mode='predict')
    p = preds[0]
    assert p['video_id'] == 'v0' and p['action'].shape == (16,) and p['centers'].shape == (16,)
    np.testing.assert_allclose(p['centers'][:2], [0.3, 0.7])   # pairs of snippets 0.2/0.4 and 0.6/0.8
    assert p['proposals'].shape[1] == 3 and len(p['proposal_labels']) == len(p['proposals']) > 0
    assert (p['proposals'][:, 1] > p['proposals'][:, 0]).all() and (p['proposals'][:, :2] <= 6.6).all()
    assert set(p['proposal_labels'].tolist()) <= {0, 1, 2, 3}


def test_localizer_label_is_the_mean_class_of_the_snippets_inside():
    centers = 0.2 + 0.2 * np.arange(5)
    scores = np.array([[1, 0], [0, 1], [0, 1], [1, 0], [1, 0]], float)
    sample = dict(snippet_centers=centers, cls_scores=scores)
    labels = TALMR._label(np.array([[0.3, 0.7, 1.0], [0.7, 1.1, 1.0], [0.95, 0.98, 1.0]]), sample)
    assert labels.tolist() == [1, 0, 0]   # [0.4, 0.6] -> 1; [0.8, 1.0] -> 0; none inside -> nearest (1.0) -> 0


# ---------------------------------------------------------------- proposal evaluation (PEM)
def test_pem_features_sample_the_expanded_proposal():
    from tessera_video.models.localizers.proposal_evaluation import pem_features
    centers = np.arange(11, dtype=float)               # positions at 0 .. 10 s
    ramp = centers / 10.0                              # linear curves: interpolation is exact
    feats = pem_features(ramp, 2 * ramp, 1 - ramp, centers, np.array([[2.0, 7.0, 0.5]]))
    points = np.linspace(1.0, 8.0, 32)                 # [2 - 0.2 * 5, 7 + 0.2 * 5]
    np.testing.assert_allclose(feats[0], np.concatenate([points / 10, points / 5, 1 - points / 10]), rtol=1e-6)
    clipped = pem_features(ramp, ramp, ramp, centers, np.array([[0.0, 10.0, 0.5]]))
    assert clipped[0, 0] == pytest.approx(0.001) and clipped[0, 31] == pytest.approx(0.999)   # [0.01, 9.99]


def test_pem_targets_network_and_training():
    from tessera_video.models.localizers.proposal_evaluation import (ProposalEvaluationMLP, proposal_max_iou,
                                                                     train_pem)
    ious = proposal_max_iou(np.array([[0, 10, 1], [20, 25, 1], [40, 50, 1]]), np.array([[0, 5], [20, 30]]))
    np.testing.assert_allclose(ious, [0.5, 0.5, 0])
    net = ProposalEvaluationMLP()
    assert [m.out_features for m in net.net if isinstance(m, torch.nn.Linear)] == [96, 48, 1]
    rng = np.random.RandomState(0)
    x = rng.rand(1024, 96).astype(np.float32)
    y = x[:, :32].mean(1)                               # a learnable target in (0, 1)
    before = ((net(torch.as_tensor(x)) - torch.as_tensor(y)) ** 2).mean().item()
    trained = train_pem(x, y, epochs=40, lr=1e-2, model=net)
    after = ((trained(torch.as_tensor(x)) - torch.as_tensor(y)) ** 2).mean().item()
    assert after < 0.5 * before


def test_snippet_features_refuse_a_missing_encoder_checkpoint(tmp_path):
    from tessera_video.datasets.snippet_features import SnippetFeatureDataset
    missing = str(tmp_path / 'c3d' / 'epoch_2.pth')
    with pytest.raises(FileNotFoundError, match=f'{missing} does not exist.*configs/tal_mr/README.md'):
        SnippetFeatureDataset(videos=dict(type='UntrimmedMovingDigits'), recognizer=dict(type='Recognizer3D'),
                              checkpoint=missing)

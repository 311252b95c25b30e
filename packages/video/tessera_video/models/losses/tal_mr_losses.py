"""TAL-MR's losses: the weighted binary classification of the three phases, the boundary regression, and the two
mutual regularizers, Intra-phase Consistency (IntraC) and Inter-phase Consistency (InterC).

Bottom-Up Temporal Action Localization with Mutual Regularization, Zhao et al., ECCV 2020, arXiv:2002.07358.
Official code: https://github.com/PeisenZhao/Bottom-Up-TAL-with-MR (TensorFlow ``model.py``,
``MultiDenseNet.lossfunc``, which produced the paper's numbers; a PyTorch port of the two regularizers is in
``Mutual_Regularization_Loss.py``). Written from those definitions, per video ``n`` of a batch of ``N``, over the
``T`` output positions ``t`` of its window (``m_t`` = 1 on valid positions, ``g_t`` in {0, 1} the ground truth of
one phase, ``p_t`` its predicted probability, ``P_n`` / ``N_n`` the positive / negative valid positions):

    phase loss (BSN's weighted logistic):
        L_cls = 1/2 * mean_n [ -sum_{t in P_n} log(p_t + eps) / |P_n|  -  sum_{t in N_n} log(1 - p_t + eps) / |N_n| ]
    boundary regression (start / end offsets, Huber with delta 1, on the positions of the start / end regions):
        L_reg = sum_t g_t huber(b_t - b*_t) / #{t : g_t > 0}

    IntraC, for each phase (action, start, end), with d_ij = |p_i - p_j| over ordered pairs i != j:
        L_intra = mean_n [ sum_{i != j in P_n} d_ij / #pairs              (positives agree with each other)
                         + 1 - sum_{i in P_n, j in N_n or i in N_n, j in P_n} d_ij / #pairs   (pos. differ from neg.)
                         + sum_{i != j in N_n} d_ij / #pairs ]            (negatives agree with each other)
        (each #pairs + eps). It is 0 exactly when p is 1 on P_n and 0 on N_n (both non-empty), and positive
        otherwise; with no positive (or no negative) the middle term is the constant 1, as in the official code.

    InterC, between the phases: the action curve's forward difference should be the start / end curves,
        delta_t = a_{t+1} - a_t  (t < T - 1),  delta_{T-1} = a_{T-1} - a_{T-2}
        L_inter = mean_{n,t} |max(delta_t, 0) - s_t|  +  mean_{n,t} |max(-delta_t, 0) - e_t|
        It is 0 when s = relu(delta) and e = relu(-delta); its gradient reaches a, s and e.

    total (official TensorFlow code: every term weight 1):
        L = L_cls(a) + L_cls(s) + L_cls(e) + L_reg(start) + L_reg(end) + L_intra(a) + L_intra(s) + L_intra(e)
            + L_inter
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

EPS = 1e-7


def _check(name: str, pred: torch.Tensor, gt: torch.Tensor) -> None:
    if pred.shape != gt.shape or pred.dim() != 2:
        raise ValueError(f'{name}: prediction {tuple(pred.shape)} and target {tuple(gt.shape)} must both be (N, T)')


def phase_classification_loss(prob: torch.Tensor, gt: torch.Tensor, mask: Optional[torch.Tensor] = None,
                              eps: float = EPS) -> torch.Tensor:
    """Weighted binary logistic loss of one phase (official ``_heat_loss``; BSN's TEM loss up to no constant).

    Args:
        prob (Tensor): (N, T) probabilities.
        gt (Tensor): (N, T) binary targets.
        mask (Tensor, optional): (N, T) 1 on valid positions (all valid if None).
    """
    _check('phase_classification_loss', prob, gt)
    mask = torch.ones_like(gt) if mask is None else mask
    pos, neg = gt * mask, mask - gt * mask
    pos_loss = -((pos * torch.log(prob + eps)).sum(1) / (pos.sum(1) + eps)).mean()
    neg_loss = -((neg * torch.log(1 - prob + eps)).sum(1) / (neg.sum(1) + eps)).mean()
    return 0.5 * (pos_loss + neg_loss)


def boundary_regression_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Huber (delta 1) on the positions with ``weight > 0``, summed with the weights and divided by their count
    (``tf.losses.huber_loss`` with its default ``SUM_BY_NONZERO_WEIGHTS``); 0 if no position is weighted."""
    _check('boundary_regression_loss', pred, target)
    loss = F.smooth_l1_loss(pred, target, reduction='none', beta=1.0)
    count = (weight > 0).sum()
    return (loss * weight).sum() / count.clamp(min=1)


def intra_consistency_loss(prob: torch.Tensor, gt: torch.Tensor, mask: Optional[torch.Tensor] = None,
                           eps: float = EPS) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """IntraC of one phase: ``(pos-pos, 1 - pos-neg, neg-neg)`` mean absolute differences (see the module
    docstring); the loss is their sum.

    Args:
        prob (Tensor): (N, T) probabilities of the phase.
        gt (Tensor): (N, T) its binary ground truth.
        mask (Tensor, optional): (N, T) 1 on valid positions.

    Returns:
        tuple[Tensor]: the three scalar terms (each the mean over the batch of per-video ratios).
    """
    _check('intra_consistency_loss', prob, gt)
    n, t = gt.shape
    mask = torch.ones_like(gt) if mask is None else mask
    distance = (prob[:, :, None] - prob[:, None, :]).abs()                    # (N, T, T)
    valid = mask[:, :, None] * mask[:, None, :]
    eye = torch.eye(t, dtype=gt.dtype, device=gt.device).expand(n, t, t)
    pos_pos = F.relu(gt[:, :, None] * gt[:, None, :] - eye) * valid           # M_gt_1
    pos_neg = (gt[:, :, None] - gt[:, None, :]).abs() * valid                 # M_gt_2
    neg_neg = (1 - eye - F.relu(gt[:, :, None] * gt[:, None, :] - eye) - (gt[:, :, None] - gt[:, None, :]).abs()) \
        * valid                                                               # M_gt_3

    def ratio(pairs):
        return ((distance * pairs).sum((1, 2)) / (pairs.sum((1, 2)) + eps)).mean()

    return ratio(pos_pos), 1 - ratio(pos_neg), ratio(neg_neg)


def inter_consistency_loss(action: torch.Tensor, start: torch.Tensor, end: torch.Tensor
                           ) -> Tuple[torch.Tensor, torch.Tensor]:
    """InterC: ``(mean |relu(delta) - s|, mean |relu(-delta) - e|)`` with ``delta`` the forward difference of the
    action curve (its last difference repeated at the last position), over all (N, T) positions as in the
    official code (no mask).

    Args:
        action, start, end (Tensor): (N, T) probabilities, T >= 2.
    """
    _check('inter_consistency_loss', action, start)
    _check('inter_consistency_loss', action, end)
    if action.size(1) < 2:
        raise ValueError(f'inter_consistency_loss needs T >= 2 positions, got {action.size(1)}')
    step = action[:, 1:] - action[:, :-1]
    delta = torch.cat([step, step[:, -1:]], dim=1)
    return (F.relu(delta) - start).abs().mean(), (F.relu(-delta) - end).abs().mean()


def tal_mr_losses(pred: Dict[str, torch.Tensor], target: Dict[str, torch.Tensor],
                  weights: Optional[Dict[str, float]] = None) -> Dict[str, torch.Tensor]:
    """All of TAL-MR's terms.

    Args:
        pred (dict): ``action``, ``start``, ``end`` (N, T) probabilities, ``start_offset``, ``end_offset`` (N, T).
        target (dict): ``action``, ``start``, ``end`` (N, T) binary, ``start_offset``, ``end_offset`` (N, T),
            ``mask`` (N, T).
        weights (dict, optional): ``cls``, ``reg``, ``intra``, ``inter`` (all 1 in the official code; 0 for
            ``intra`` and ``inter`` is the baseline without the regularizers).

    Returns:
        dict: the weighted ``loss_cls`` / ``loss_reg`` / ``loss_intra`` / ``loss_inter`` (what is optimised) and
        the unweighted ``cls`` / ``reg`` / ``intra`` / ``inter`` and per-phase ``intra_action`` ... ``inter_end``
        (detached, for logging: they are computed whatever the weights, so a run without the regularizers still
        reports how inconsistent its curves are).
    """
    w = dict(cls=1.0, reg=1.0, intra=1.0, inter=1.0)
    if weights:
        unknown = set(weights) - set(w)
        if unknown:
            raise KeyError(f'unknown TAL-MR loss weights {sorted(unknown)}; valid: {sorted(w)}')
        w.update(weights)
    mask = target['mask']
    terms = {}
    cls = sum(phase_classification_loss(pred[k], target[k], mask) for k in ('action', 'start', 'end'))
    reg = (boundary_regression_loss(pred['start_offset'], target['start_offset'], target['start'] * mask)
           + boundary_regression_loss(pred['end_offset'], target['end_offset'], target['end'] * mask))
    intra = 0
    for k in ('action', 'start', 'end'):
        part = sum(intra_consistency_loss(pred[k], target[k], mask))
        terms[f'intra_{k}'] = part.detach()
        intra = intra + part
    inter_start, inter_end = inter_consistency_loss(pred['action'], pred['start'], pred['end'])
    inter = inter_start + inter_end
    terms.update(inter_start=inter_start.detach(), inter_end=inter_end.detach(), cls=cls.detach(),
                 reg=reg.detach(), intra=intra.detach(), inter=inter.detach())
    out = dict(loss_cls=w['cls'] * cls, loss_reg=w['reg'] * reg)
    # a zero weight leaves the term out of the graph (its value is still logged above)
    out['loss_intra'] = w['intra'] * intra if w['intra'] else intra.new_zeros(())
    out['loss_inter'] = w['inter'] * inter if w['inter'] else inter.new_zeros(())
    out.update(terms)
    return out

"""RSPNet's two pretext losses: the relative-speed margin ranking (RSP) and appearance-focused video instance
discrimination (A-VID).

RSPNet: Relative Speed Perception for Unsupervised Video Representation Learning, Chen et al., AAAI 2021,
arXiv:2011.07949. Official code: https://github.com/PeihaoChen/RSPNet (``moco/builder_diffspeed_diffloss.py``:
``MoCoDiffLossTwoFc.forward`` builds the logits, ``Loss`` sums the terms; ``pretrain.py`` sets ``margin=2.0``).

With L2-normalised embeddings, temperature ``tau`` (0.07) and, per video ``n``, the anchor's query ``q``, the
same-speed positive's key ``k+`` and the different-speed negative's key ``k-`` (both from the momentum encoder),
each task with its own projection (``_A`` appearance, ``_M`` motion/speed):

    RSP:     L_rsp = mean_n max(0, gamma - (q_M . k+_M - q_M . k-_M) / tau)        gamma = 2.0 (margin)
    A-VID:   L_avid = CE([q_A . k+_A, q_A . Q] / tau, 0) + CE([q_A . k-_A, q_A . Q] / tau, 0)
    total:   L = w_A * L_avid + w_M * L_rsp                                     w_A = w_M = 1

``Q`` (dim, K) holds keys of other videos (the memory queue); both clips of the same video, whatever their speed,
are positives of the anchor in A-VID. As in the official code the margin acts on similarities already divided by
``tau`` (``nn.MarginRankingLoss(margin=2.0)`` applied to ``l_pos / T`` and ``l_neg / T``).
"""
from typing import Dict

import torch
import torch.nn.functional as F


def relative_speed_ranking_loss(sim_pos: torch.Tensor, sim_neg: torch.Tensor, margin: float = 2.0) -> torch.Tensor:
    """``mean(max(0, margin - (sim_pos - sim_neg)))``: torch's ``margin_ranking_loss`` with target +1.

    Args:
        sim_pos (Tensor): (N,) scaled similarities anchor-positive (same speed), ``q . k+ / tau``.
        sim_neg (Tensor): (N,) scaled similarities anchor-negative (different speed), ``q . k- / tau``.
        margin (float): ``gamma``.
    """
    if sim_pos.shape != sim_neg.shape:
        raise ValueError(f'sim_pos {tuple(sim_pos.shape)} and sim_neg {tuple(sim_neg.shape)} differ in shape')
    return F.margin_ranking_loss(sim_pos, sim_neg, torch.ones_like(sim_pos), margin=margin)


def instance_logits(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float) -> torch.Tensor:
    """InfoNCE logits (N, 1 + K): column 0 ``q_n . k_n / tau``, then ``q_n . queue / tau``.

    Args:
        q (Tensor): (N, dim) normalised queries. k (Tensor): (N, dim) normalised positive keys.
        queue (Tensor): (K, dim) normalised negative keys (rows).
    """
    pos = (q * k).sum(dim=1, keepdim=True)
    neg = q @ queue.t()
    return torch.cat([pos, neg], dim=1) / temperature


def rspnet_losses(q_a: torch.Tensor, k_pos_a: torch.Tensor, k_neg_a: torch.Tensor, q_m: torch.Tensor,
                  k_pos_m: torch.Tensor, k_neg_m: torch.Tensor, queue: torch.Tensor, temperature: float = 0.07,
                  margin: float = 2.0) -> Dict[str, torch.Tensor]:
    """Both terms (unweighted) and their accuracies from the embeddings of one batch.

    Returns: ``avid`` (CE with the same-speed key + CE with the different-speed key), ``rsp`` (ranking),
    ``acc_avid`` (% of the 2N InfoNCE problems whose positive wins), ``acc_rsp`` (% of anchors closer to the
    same-speed clip than to the different-speed one: the speed task's accuracy), ``logits_avid`` (2N, 1 + K).
    """
    logits = torch.cat([instance_logits(q_a, k_pos_a, queue, temperature),
                        instance_logits(q_a, k_neg_a, queue, temperature)])
    target = torch.zeros(len(logits), dtype=torch.long, device=logits.device)
    n = len(q_a)
    avid = F.cross_entropy(logits[:n], target[:n]) + F.cross_entropy(logits[n:], target[n:])
    sim_pos = (q_m * k_pos_m).sum(dim=1) / temperature
    sim_neg = (q_m * k_neg_m).sum(dim=1) / temperature
    rsp = relative_speed_ranking_loss(sim_pos, sim_neg, margin)
    with torch.no_grad():
        acc_avid = (logits.argmax(dim=1) == 0).float().mean() * 100
        acc_rsp = (sim_pos > sim_neg).float().mean() * 100
    return dict(avid=avid, rsp=rsp, acc_avid=acc_avid, acc_rsp=acc_rsp, logits_avid=logits)

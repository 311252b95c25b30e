"""Re-identification retrieval metric: CMC rank-k and mean average precision.

The Market-1501 protocol (Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015) as
implemented by the re-ID strong baseline (Luo et al., arXiv:1903.07071, official code
https://github.com/michuanhaohao/reid-strong-baseline, ``data/datasets/eval_reid.py``): every query ranks
the whole gallery by distance; gallery images of the query's identity taken by the query's camera are
removed from its ranking (they would be near-duplicates); queries without any remaining true match are
skipped. CMC rank-k is the fraction of valid queries whose first true match lies within the top k; AP is the
mean of the precisions at the ranks of the true matches.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from tessera_reid.registry import METRICS

from .rank_evaluator import PROTOCOLS, evaluate_ranking
from .rerank import k_reciprocal_rerank

DISTANCES = ('euclidean', 'cosine')


def pairwise_distance(query: torch.Tensor, gallery: torch.Tensor, distance: str = 'euclidean') -> np.ndarray:
    """(M, D) and (N, D) features -> (M, N) distances: squared Euclidean (the official ``distmat``) or
    ``1 - cosine similarity``."""
    if distance not in DISTANCES:
        raise ValueError(f'invalid distance {distance!r}; valid: {DISTANCES}')
    query, gallery = query.double(), gallery.double()
    if distance == 'cosine':
        query = torch.nn.functional.normalize(query, dim=1)
        gallery = torch.nn.functional.normalize(gallery, dim=1)
        return (1 - query @ gallery.t()).numpy()
    dist = query.pow(2).sum(1, keepdim=True) + gallery.pow(2).sum(1)[None] - 2 * query @ gallery.t()
    return dist.clamp(min=0).numpy()


def evaluate_rank(distmat: np.ndarray, q_pids: np.ndarray, g_pids: np.ndarray,
                  q_camids: Optional[np.ndarray] = None, g_camids: Optional[np.ndarray] = None,
                  topk: Sequence[int] = (1, 5)) -> Tuple[dict, float, int]:
    """CMC and mAP of a query-gallery distance matrix.

    Args:
        distmat (ndarray): (M, N) distances, smaller is more similar.
        q_pids, g_pids (ndarray): (M,) and (N,) identities.
        q_camids, g_camids (ndarray, optional): (M,) and (N,) camera ids. When given, gallery samples with the
            query's identity *and* camera are excluded from that query's ranking; when ``None``, nothing is.
        topk (Sequence[int]): Ranks k of the CMC values returned.

    Returns:
        tuple: ``({k: CMC@k in [0, 1]}, mAP in [0, 1], number of valid queries)``. Ties in distance are broken
        by gallery order (stable sort).
    """
    distmat = np.asarray(distmat)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    num_q, num_g = distmat.shape if distmat.ndim == 2 else (None, None)
    if num_q is None or q_pids.shape != (num_q,) or g_pids.shape != (num_g,):
        raise ValueError(f'distmat {distmat.shape} does not match {q_pids.shape} query and {g_pids.shape} '
                         'gallery identities')
    if (q_camids is None) != (g_camids is None):
        raise ValueError('give camera ids for both query and gallery, or for neither')
    if q_camids is not None:
        q_camids, g_camids = np.asarray(q_camids), np.asarray(g_camids)
        if q_camids.shape != (num_q,) or g_camids.shape != (num_g,):
            raise ValueError(f'camera ids {q_camids.shape} / {g_camids.shape} do not match {num_q} queries / '
                             f'{num_g} gallery samples')
    if any(k < 1 for k in topk):
        raise ValueError(f'topk values must be >= 1, got {tuple(topk)}')
    order = np.argsort(distmat, axis=1, kind='stable')
    matches = g_pids[order] == q_pids[:, None]
    first_hits, aps = [], []
    for i in range(num_q):
        keep = np.ones(num_g, dtype=bool)
        if q_camids is not None:
            keep = ~((g_pids[order[i]] == q_pids[i]) & (g_camids[order[i]] == q_camids[i]))
        hits = matches[i][keep]
        if not hits.any():
            continue  # the query's identity is absent from the (filtered) gallery
        positions = np.flatnonzero(hits)  # 0-based ranks of the true matches
        first_hits.append(positions[0])
        precisions = np.arange(1, len(positions) + 1) / (positions + 1)
        aps.append(precisions.mean())
    if not first_hits:
        raise ValueError('no query has a true match in the gallery (after removing same-camera matches): '
                         'CMC and mAP are undefined')
    first_hits = np.asarray(first_hits)
    cmc = {k: float((first_hits < k).mean()) for k in topk}
    return cmc, float(np.mean(aps)), len(first_hits)


@METRICS.register_module()
class ReIDMetric(BaseMetric):
    """Rank-k (CMC) and mAP of query vs gallery, in percent: keys ``reid/rank1``, ``reid/rank5``, ``reid/mAP``
    (and ``reid/mINP`` with ``with_minp=True``).

    Every data sample must carry ``pred_feature`` (D,) (set by the model), ``gt_label`` (the identity) and
    ``is_query`` (bool, set by the dataset); ``camid`` enables the camera protocols (all samples or none).
    Ranks are computed by the vectorised :func:`evaluate_ranking` (numbers equal to the per-query loop of
    torchreid / the strong baseline). Queries without a true match are excluded from the averages, logged as
    a warning and counted in ``reid/num_no_match`` (a key present only when that count is non-zero).

    Args:
        topk (Sequence[int]): CMC ranks reported.
        distance (str): ``'euclidean'`` (squared, as the official code) or ``'cosine'``. On L2-normalised
            features both give the same ranking.
        protocol (str, optional): One of ``PROTOCOLS``; default ``'market'`` when samples have camera ids
            (same-identity same-camera gallery images removed), else ``'all'``.
        rerank (bool | dict): k-reciprocal re-ranking of the distances before ranking (of the Euclidean
            distances, which it squares, as the paper; of ``1 - cosine`` for ``distance='cosine'``); a dict
            gives its ``k1``, ``k2``, ``lambda_value`` (defaults 20, 6, 0.3).
        with_minp (bool): Also report mINP.
        chunk_size (int): Queries ranked at a time.
    """
    default_prefix = 'reid'

    def __init__(self, topk: Sequence[int] = (1, 5), distance: str = 'euclidean', protocol: Optional[str] = None,
                 rerank=False, with_minp: bool = False, chunk_size: int = 64, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if distance not in DISTANCES:
            raise ValueError(f'invalid distance {distance!r}; valid: {DISTANCES}')
        if not topk or any(k < 1 for k in topk):
            raise ValueError(f'topk values must be >= 1, got {tuple(topk)}')
        if protocol is not None and protocol not in PROTOCOLS:
            raise ValueError(f'invalid protocol {protocol!r}; valid: {PROTOCOLS}')
        if not isinstance(rerank, (bool, dict)):
            raise TypeError(f'rerank must be a bool or a dict of k1/k2/lambda_value, got {rerank!r}')
        if isinstance(rerank, dict) and set(rerank) - {'k1', 'k2', 'lambda_value'}:
            raise ValueError(f'unknown rerank options {sorted(set(rerank) - {"k1", "k2", "lambda_value"})}; '
                             "valid: ['k1', 'k2', 'lambda_value']")
        self.topk, self.distance, self.protocol = tuple(topk), distance, protocol
        self.rerank = dict(rerank) if isinstance(rerank, dict) else ({} if rerank else None)
        self.with_minp, self.chunk_size = with_minp, chunk_size

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            missing = [k for k in ('pred_feature', 'gt_label', 'is_query') if k not in sample]
            if missing:
                raise KeyError(f'ReIDMetric needs {missing} in every data sample; got keys {sorted(sample)}')
            label = sample['gt_label']
            self.results.append(dict(
                feat=sample['pred_feature'].detach().cpu().float(),
                pid=int(label.item() if isinstance(label, torch.Tensor) else label),
                camid=None if sample.get('camid') is None else int(sample['camid']),
                is_query=bool(sample['is_query'])))

    def compute_metrics(self, results: List[dict]) -> dict:
        query = [r for r in results if r['is_query']]
        gallery = [r for r in results if not r['is_query']]
        if not query or not gallery:
            raise ValueError(f'ReIDMetric needs both query and gallery samples, got {len(query)} queries and '
                             f'{len(gallery)} gallery samples')
        has_cam = [r['camid'] is not None for r in results]
        if any(has_cam) and not all(has_cam):
            raise ValueError('some samples have a camid and others do not')
        protocol = self.protocol or ('market' if all(has_cam) else 'all')
        qf, gf = torch.stack([r['feat'] for r in query]), torch.stack([r['feat'] for r in gallery])
        cams = (np.array([r['camid'] for r in query]), np.array([r['camid'] for r in gallery])) \
            if all(has_cam) else (None, None)
        pids = np.array([r['pid'] for r in query]), np.array([r['pid'] for r in gallery])
        if self.rerank is not None:
            # the re-ranking squares its input distances (the paper's d^2): give it plain Euclidean distances
            dist = (lambda a, b: np.sqrt(pairwise_distance(a, b))) if self.distance == 'euclidean' else \
                (lambda a, b: pairwise_distance(a, b, self.distance))
            distmat = k_reciprocal_rerank(dist(qf, gf), dist(qf, qf), dist(gf, gf), **self.rerank)
            ranked = evaluate_ranking(*pids, *cams, distmat=distmat, protocol=protocol, max_rank=max(self.topk),
                                      chunk_size=self.chunk_size, warn_no_match=False)
        else:
            ranked = evaluate_ranking(*pids, *cams, query_feats=qf, gallery_feats=gf, distance=self.distance,
                                      protocol=protocol, max_rank=max(self.topk), chunk_size=self.chunk_size,
                                      warn_no_match=False)
        metrics = {f'rank{k}': (ranked.rank(k) if k <= len(ranked.cmc) else float(ranked.cmc[-1])) * 100
                   for k in self.topk}
        metrics['mAP'] = ranked.mAP * 100
        if self.with_minp:
            metrics['mINP'] = ranked.mINP * 100
        if ranked.num_no_match:
            MMLogger.get_current_instance().warning(
                f'ReIDMetric: {ranked.num_no_match} of {len(query)} queries have no true match in the gallery '
                f'under protocol {protocol!r}; they are excluded from CMC/mAP and counted in reid/num_no_match')
            metrics['num_no_match'] = ranked.num_no_match
        return metrics

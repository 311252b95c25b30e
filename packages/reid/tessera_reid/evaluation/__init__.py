from .foreground_mask_metric import ForegroundMaskMetric
from .rank_evaluator import PROTOCOLS, RankResult, evaluate_ranking
from .reid_metric import ReIDMetric, evaluate_rank, pairwise_distance
from .rerank import k_reciprocal_rerank

__all__ = ['ReIDMetric', 'evaluate_rank', 'pairwise_distance', 'evaluate_ranking', 'RankResult', 'PROTOCOLS',
           'k_reciprocal_rerank', 'ForegroundMaskMetric']

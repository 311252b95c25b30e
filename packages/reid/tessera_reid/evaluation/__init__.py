from .reid_metric import ReIDMetric, evaluate_rank, pairwise_distance

__all__ = ['ReIDMetric', 'evaluate_rank', 'pairwise_distance']

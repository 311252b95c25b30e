from .zero_shot_retrieval import ZeroShotRetrievalMetric, retrieval_recall_at_1

__all__ = ['ZeroShotRetrievalMetric', 'retrieval_recall_at_1']

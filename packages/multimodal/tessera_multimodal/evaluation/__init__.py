from .caption_metric import CaptionMetric, simple_ptb_like_tokenize
from .zero_shot_retrieval import ZeroShotRetrievalMetric, retrieval_recall_at_1

__all__ = ['CaptionMetric', 'simple_ptb_like_tokenize', 'ZeroShotRetrievalMetric', 'retrieval_recall_at_1']

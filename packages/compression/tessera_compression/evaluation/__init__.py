from .functional import knn_top1, weighted_knn_predict

__all__ = ['knn_top1', 'weighted_knn_predict']

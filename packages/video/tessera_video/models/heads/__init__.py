from .tsn_head import TSNHead

__all__ = ['TSNHead']

from .cls_data_preprocessor import ClsDataPreprocessor
from .domain_pair_data_preprocessor import DomainPairDataPreprocessor

__all__ = ['ClsDataPreprocessor', 'DomainPairDataPreprocessor']

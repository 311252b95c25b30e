from .info_nce import SymmetricInfoNCELoss, symmetric_info_nce

__all__ = ['SymmetricInfoNCELoss', 'symmetric_info_nce']

from .auxiliary_cls_head import AuxiliaryClsHead

__all__ = ['AuxiliaryClsHead']

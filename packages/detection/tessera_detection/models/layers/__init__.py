"""Layers of tessera-detection's methods."""
from .anchor_depression import attention_map, depress_features, depression_mask

__all__ = ['attention_map', 'depress_features', 'depression_mask']
from .center_pool import CascadeCornerPool, CenterPool  # noqa: E402
__all__ += ['CascadeCornerPool', 'CenterPool']

"""Task modules of rotated detection: rotated anchors, the rotated delta coder, rotated IoU."""
from .delta_xywht_rbbox_coder import DeltaXYWHTRBBoxCoder
from .rbbox_overlaps import RBboxOverlaps2D
from .rotated_anchor_generator import RotatedAnchorGenerator

__all__ = ['DeltaXYWHTRBBoxCoder', 'RBboxOverlaps2D', 'RotatedAnchorGenerator']

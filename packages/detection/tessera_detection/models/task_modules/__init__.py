"""Task modules: rotated anchors, the rotated delta coder, rotated IoU; MAL's schedules."""
from .delta_xywht_rbbox_coder import DeltaXYWHTRBBoxCoder
from .mal_schedules import depression_ratio, selected_bag_size
from .rbbox_overlaps import RBboxOverlaps2D
from .rotated_anchor_generator import RotatedAnchorGenerator

__all__ = ['DeltaXYWHTRBBoxCoder', 'RBboxOverlaps2D', 'RotatedAnchorGenerator', 'depression_ratio', 'selected_bag_size']

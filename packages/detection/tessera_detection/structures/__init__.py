"""Box structures of tessera-detection: rotated boxes in the ``le90`` convention and DOTA polygons."""
from .rotated_box import ANGLE_CONVENTIONS, check_rboxes, poly2rbox, rbox2poly, regularize_rboxes

__all__ = ['ANGLE_CONVENTIONS', 'check_rboxes', 'poly2rbox', 'rbox2poly', 'regularize_rboxes']

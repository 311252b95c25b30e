"""Metric functions without state."""
from .rotated_voc_map import eval_rotated_map, rotated_ious, tp_fp_one_class, voc_ap

__all__ = ['eval_rotated_map', 'rotated_ious', 'tp_fp_one_class', 'voc_ap']

"""Metrics of tessera-detection: ``DOTAMetric`` (rotated boxes) here; mmdet's ``CocoMetric`` and the others
resolve through the scope."""
from .metrics import DOTAMetric

__all__ = ['DOTAMetric']

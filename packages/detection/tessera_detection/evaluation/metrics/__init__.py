"""Registered metrics of tessera-detection."""
from .dota_metric import DOTAMetric

__all__ = ['DOTAMetric']

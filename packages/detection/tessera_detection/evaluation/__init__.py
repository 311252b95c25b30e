"""Metrics of tessera-detection: mmdet's ``CocoMetric`` and the others resolve through the scope."""

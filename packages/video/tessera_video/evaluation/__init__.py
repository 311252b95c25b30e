from .temporal_localization_metrics import DetectionMAPMetric, ProposalRecallMetric  # noqa: F401

"""Deployment of tessera classifiers: BatchNorm folding, ONNX export, ONNX Runtime checks.

``onnx`` and ``onnxruntime`` are optional (``pip install 'tessera-core[deploy]'``): importing
this package does not need them; exporting and running sessions do, and say so when missing.
"""
from .classifier_export import ExportReport, build_classifier, export_classifier, torch_scores
from .deploy_mode import switch_to_deploy
from .inference_graph import ClassifierInferenceGraph
from .onnx_check import ScoreComparison, compare_scores, ort_session, run_session
from .onnx_export import DEFAULT_OPSET, UnexportableLayerError, export_onnx, locate_unexportable_layer
from .optional_imports import INSTALL_HINT, import_onnx, import_onnxruntime

__all__ = ['ClassifierInferenceGraph', 'DEFAULT_OPSET', 'ExportReport', 'INSTALL_HINT', 'ScoreComparison',
           'UnexportableLayerError', 'build_classifier', 'compare_scores', 'export_classifier', 'export_onnx',
           'import_onnx', 'import_onnxruntime', 'locate_unexportable_layer', 'ort_session', 'run_session',
           'switch_to_deploy', 'torch_scores']

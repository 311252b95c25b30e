"""Imports of the optional deploy dependencies (onnx, onnxruntime) with an install hint.

``pip install 'tessera-core[deploy]'`` brings both; nothing else in tessera-core needs them,
so they are imported only when an export or an ONNX Runtime session is asked for.
"""
import importlib

INSTALL_HINT = "pip install 'tessera-core[deploy]'"


def import_optional(name: str, purpose: str):
    """Import module ``name`` or raise an ImportError that says what it is for and how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise ImportError(f'{purpose} needs the optional package {name!r}, which is not installed '
                          f'({error}); install the deploy extra: {INSTALL_HINT}') from error


def import_onnx():
    """The ``onnx`` module (graph checker, model proto)."""
    return import_optional('onnx', 'exporting a model to ONNX')


def import_onnxruntime():
    """The ``onnxruntime`` module (CPU inference sessions)."""
    return import_optional('onnxruntime', 'running an ONNX model (ONNX Runtime)')

"""Export a PyTorch module to an ONNX file, naming the layer when ONNX cannot express one.

The export uses PyTorch's TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``):
it needs only the ``onnx`` package (the ``torch.export``-based exporter also needs onnxscript)
and traces the eval-mode forward once, so Python control flow is fixed for the example input's
shape. A batch axis can be left dynamic; whether the traced graph really is batch-independent is
for the caller to verify (:mod:`tessera_core.deploy.onnx_check`), since some layers bake the
batch size into the graph (DCD's per-sample kernels run as one grouped conv with groups = N).

When the export fails, :func:`locate_unexportable_layer` records the input of every submodule in
one eager forward, then exports submodules on their own from the root down: the deepest module
that fails while all of its children export is the layer named in :class:`UnexportableLayerError`
(module path and class), together with the exporter's reason (e.g. the unsupported operator).
"""
import contextlib
import io
import os
import sys
import warnings
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from .optional_imports import import_onnx

DEFAULT_OPSET = 17


class UnexportableLayerError(RuntimeError):
    """A layer of the model cannot be expressed in ONNX.

    Attributes:
        path (str): Module path in the model (``''`` for the model's own forward).
        layer_type (str): Qualified class name of that module.
        reason (str): The exporter's message (first line).
    """

    def __init__(self, path: str, layer_type: str, reason: str, opset: int, dynamic_batch: bool = False):
        self.path, self.layer_type, self.reason, self.opset = path, layer_type, reason, opset
        self.dynamic_batch = dynamic_batch
        where = f"layer '{path}'" if path else "the model's own forward"
        batch = ' with a dynamic batch axis' if dynamic_batch else ''
        super().__init__(f'cannot export to ONNX (opset {opset}{batch}): {where} ({layer_type}) uses an operation '
                         f'the exporter cannot express: {reason}')


@contextlib.contextmanager
def _exporter_quiet():
    """Silence the exporter's deprecation notices, tracer warnings and the TorchScript IR dump it
    writes to stdout (file descriptor 1) when a conversion fails."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', category=DeprecationWarning)
            warnings.filterwarnings('ignore', category=FutureWarning)
            warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
            warnings.filterwarnings('ignore', message='.*legacy TorchScript-based ONNX export.*')
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _torch_export(module: nn.Module, args: tuple, f, opset: int, input_names=None, output_names=None,
                  dynamic_axes=None, kwargs=None) -> None:
    with _exporter_quiet(), torch.no_grad():
        torch.onnx.export(module, args, f, kwargs=kwargs or None, dynamo=False, opset_version=opset,
                          input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
                          do_constant_folding=True)


def _reason(error: BaseException) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    text = lines[0].split(' [Caused by')[0].strip() if lines else ''
    return f'{type(error).__name__}: {text[:300]}'


def _qualname(module: nn.Module) -> str:
    cls = type(module)
    return f'{cls.__module__}.{cls.__qualname__}'


_CONSTANTS = (type(None), str, bool, int, float)


def _exportable_tree(value) -> bool:
    """Tensors, constants (None, str, numbers) and tuples / lists / dicts of them."""
    if isinstance(value, (torch.Tensor, *_CONSTANTS)):
        return True
    if isinstance(value, (tuple, list)):
        return all(_exportable_tree(v) for v in value)
    if isinstance(value, dict):
        return all(_exportable_tree(v) for v in value.values())
    return False


def _clone_tree(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_clone_tree(v) for v in value)
    if isinstance(value, dict):
        return {k: _clone_tree(v) for k, v in value.items()}
    return value


def _count_tensors(value) -> int:
    if isinstance(value, torch.Tensor):
        return 1
    if isinstance(value, (tuple, list)):
        return sum(_count_tensors(v) for v in value)
    if isinstance(value, dict):
        return sum(_count_tensors(v) for v in value.values())
    return 0


def _record_inputs(module: nn.Module, example_inputs: tuple) -> Dict[nn.Module, Tuple[tuple, dict]]:
    """``(args, kwargs)`` of the first call of every submodule in one eager forward (calls whose
    inputs are tensors and constants only)."""
    recorded, handles = {}, []

    def hook(mod, args, kwargs):
        if mod not in recorded and _exportable_tree((args, kwargs)) and _count_tensors((args, kwargs)):
            recorded[mod] = (_clone_tree(tuple(args)), _clone_tree(dict(kwargs)))

    for sub in module.modules():
        handles.append(sub.register_forward_pre_hook(hook, with_kwargs=True))
    try:
        with torch.no_grad():
            module(*example_inputs)
    finally:
        for h in handles:
            h.remove()
    return recorded


def _export_error(module: nn.Module, inputs: Tuple[tuple, dict], opset: int,
                  dynamic_batch: bool) -> Optional[BaseException]:
    args, kwargs = inputs
    names = [f'input{i}' for i in range(_count_tensors(inputs))]
    dynamic_axes = {name: {0: 'batch'} for name in names} if dynamic_batch else None
    try:
        _torch_export(module, args, io.BytesIO(), opset, names, None, dynamic_axes, kwargs)
    except Exception as error:  # noqa: BLE001  (any exporter failure is the answer)
        return error
    return None


def locate_unexportable_layer(module: nn.Module, example_inputs: tuple, opset: int = DEFAULT_OPSET,
                              error: Optional[BaseException] = None,
                              dynamic_batch: bool = False) -> Tuple[str, nn.Module, str]:
    """Find the deepest submodule of ``module`` that the ONNX exporter cannot export by itself.

    Args:
        module (nn.Module): In eval mode; its export failed.
        example_inputs (tuple): Positional inputs of ``module``.
        opset (int): ONNX opset of the export.
        error (Exception, optional): The failure of the whole export (its message is the reason
            reported when no submodule fails on its own).
        dynamic_batch (bool): Probe with a symbolic batch axis, as the failed export had.

    Returns:
        tuple: ``(path, submodule, reason)``; path ``''`` means ``module``'s own forward.
    """
    recorded = _record_inputs(module, example_inputs)
    path, current = '', module
    reason = _reason(error) if error is not None else 'export failed'
    while True:
        for name, child in current.named_children():
            if child not in recorded:
                continue
            child_error = _export_error(child, recorded[child], opset, dynamic_batch)
            if child_error is not None:
                path = f'{path}.{name}' if path else name
                current, reason = child, _reason(child_error)
                break
        else:
            return path, current, reason


def export_onnx(module: nn.Module, example_inputs: Sequence[torch.Tensor], path: str,
                input_names: Sequence[str] = ('image',), output_names: Sequence[str] = ('scores',),
                dynamic_batch: bool = True, opset: int = DEFAULT_OPSET) -> str:
    """Export ``module`` (eval mode) to the ONNX file ``path`` and check the file with ``onnx.checker``.

    Args:
        module (nn.Module): What to export; put in eval mode.
        example_inputs (Sequence[Tensor]): One example per input, e.g. ``[torch.zeros(1, 3, 224, 224)]``.
        path (str): Output ``.onnx`` file (parent directories are created).
        input_names / output_names (Sequence[str]): Names in the graph.
        dynamic_batch (bool): Leave axis 0 of every input and output symbolic (``'batch'``).
        opset (int): ONNX opset version.

    Returns:
        str: ``path``.

    Raises:
        ImportError: If ``onnx`` is not installed (names ``pip install 'tessera-core[deploy]'``).
        UnexportableLayerError: If a layer cannot be expressed in ONNX (names the layer; the
            exporter's own exception is chained as ``__cause__``).
    """
    onnx = import_onnx()
    module.eval()
    example_inputs = tuple(example_inputs)
    dynamic_axes = ({name: {0: 'batch'} for name in (*input_names, *output_names)} if dynamic_batch else None)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        _torch_export(module, example_inputs, path, opset, list(input_names), list(output_names), dynamic_axes)
    except Exception as error:  # noqa: BLE001
        layer_path, layer, reason = locate_unexportable_layer(module, example_inputs, opset, error, dynamic_batch)
        prefix = getattr(module, 'path_prefix', '')
        if prefix and layer_path.startswith(prefix):
            layer_path = layer_path[len(prefix):]
        elif prefix and layer_path == prefix.rstrip('.'):
            layer_path = ''
        raise UnexportableLayerError(layer_path, _qualname(layer), reason, opset, dynamic_batch) from error
    onnx.checker.check_model(path)
    return path

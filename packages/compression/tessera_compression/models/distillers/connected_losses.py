"""Distillation losses built from config and connected to named records of student and teacher.

::

    distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4.0, loss_weight=1.0)),
    loss_forward_mappings=dict(
        loss_kd=dict(preds_S=dict(from_student=True, recorder='logits'),
                     preds_T=dict(from_student=False, recorder='logits')))

Each mapping entry names a forward argument of the loss and where its value comes from:
``from_student`` (student or teacher recorders), ``recorder`` (its name), optionally
``record_idx`` (which call, default 0) and ``data_idx`` (element of a tuple record). Everything is
checked when the model is built: each loss has a mapping, each argument exists in the loss's
``forward`` and each recorder is configured, otherwise the error lists the valid names.
"""
import inspect
from typing import Dict, Optional

from torch import nn

from ..recorders import RecorderManager

__all__ = ['build_connected_losses', 'compute_connected_losses']

MAPPING_KEYS = ('from_student', 'recorder', 'record_idx', 'data_idx')


def build_connected_losses(losses: Optional[Dict[str, dict]], mappings: Optional[Dict[str, dict]], registry,
                           student_recorders: RecorderManager, teacher_recorders: RecorderManager,
                           what: str = 'distill_losses') -> nn.ModuleDict:
    """Build the losses and validate their mappings against the recorders."""
    losses, mappings = dict(losses or {}), dict(mappings or {})
    built = nn.ModuleDict()
    for name in losses:
        if name not in mappings:
            raise KeyError(f'{what}: loss {name!r} has no entry in its loss_forward_mappings '
                           f'(mapped: {sorted(mappings)})')
    for name in mappings:
        if name not in losses:
            raise KeyError(f'{what}: loss_forward_mappings names {name!r}, which is not a configured loss '
                           f'(valid: {sorted(losses)})')
    for name, cfg in losses.items():
        loss = cfg if isinstance(cfg, nn.Module) else registry.build(cfg)
        params = inspect.signature(loss.forward).parameters
        valid_args = [p for p in params if p not in ('self', 'args', 'kwargs')]
        for arg, source in mappings[name].items():
            if arg not in valid_args:
                raise KeyError(f'{what}: {type(loss).__name__}.forward of loss {name!r} has no argument {arg!r} '
                               f'(valid: {valid_args})')
            bad = [k for k in source if k not in MAPPING_KEYS]
            if bad or 'recorder' not in source or 'from_student' not in source:
                raise KeyError(f'{what}: mapping {name}.{arg} must give from_student and recorder '
                               f'(valid keys: {list(MAPPING_KEYS)}), got {dict(source)}')
            recorders = student_recorders if source['from_student'] else teacher_recorders
            side = 'student' if source['from_student'] else 'teacher'
            if source['recorder'] not in recorders:
                raise KeyError(f'{what}: mapping {name}.{arg} reads the {side} recorder {source["recorder"]!r}, '
                               f'which is not configured (valid {side} recorders: {sorted(recorders.recorders)})')
        built[name] = loss
    return built


def compute_connected_losses(losses: nn.ModuleDict, mappings: Dict[str, dict], student_recorders: RecorderManager,
                             teacher_recorders: RecorderManager) -> Dict[str, object]:
    """``{loss name: loss(**records)}`` from the current records."""
    out = {}
    for name, loss in losses.items():
        kwargs = {}
        for arg, source in mappings[name].items():
            recorders = student_recorders if source['from_student'] else teacher_recorders
            kwargs[arg] = recorders.get_record_data(source['recorder'], source.get('record_idx', 0),
                                                    source.get('data_idx'))
        out[name] = loss(**kwargs)
    return out

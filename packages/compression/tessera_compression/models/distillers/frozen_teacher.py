"""The frozen teacher of a distillation: built from its own config, loaded from its checkpoint.

The teacher is built like any model (a model config dict, or the path of a config file whose
``model`` is used, ``tessera_core::demo/resnet18-w16_embedded-digits.py`` style paths included),
its weights come from ``teacher_ckpt`` through mmengine's ``load_checkpoint`` (local paths go
through tessera-core's allowlisted loader), strictly: a checkpoint that does not match the config
raises :class:`TeacherCheckpointError` naming the missing, unexpected and mis-shaped keys. Then
every parameter gets ``requires_grad=False`` and the module is put in eval mode.
"""
import os.path as osp
import re
from typing import List, Optional, Union

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader, load_checkpoint
from torch import nn

__all__ = ['TeacherCheckpointError', 'build_teacher', 'load_teacher_checkpoint', 'freeze', 'teacher_model_cfg']

_PKG_PATH = re.compile(r'^(tessera_\w+)::(.+)$')


class TeacherCheckpointError(ValueError):
    """A teacher checkpoint whose keys do not match the teacher's config."""

    def __init__(self, filename: str, missing: List[str], unexpected: List[str], mismatched: List[str]):
        self.missing, self.unexpected, self.mismatched = missing, unexpected, mismatched
        parts = [f'teacher checkpoint {filename} does not match the teacher config:']
        if missing:
            parts.append(f'missing keys ({len(missing)}): {", ".join(missing[:20])}'
                         + (' ...' if len(missing) > 20 else ''))
        if unexpected:
            parts.append(f'unexpected keys ({len(unexpected)}): {", ".join(unexpected[:20])}'
                         + (' ...' if len(unexpected) > 20 else ''))
        if mismatched:
            parts.append(f'shape mismatches ({len(mismatched)}): {", ".join(mismatched[:20])}')
        super().__init__('\n  '.join(parts))


def teacher_model_cfg(teacher: Union[dict, str]) -> dict:
    """The model config of ``teacher``: the dict itself, or ``model`` of the config file it names."""
    if isinstance(teacher, dict):
        return dict(teacher)
    if not isinstance(teacher, str):
        raise TypeError(f'teacher must be a model config dict or a config file path, got {type(teacher).__name__}')
    path = teacher
    match = _PKG_PATH.match(teacher)
    if match:
        from tessera_core.config import package_config_path
        path = package_config_path(*match.groups())
    cfg = Config.fromfile(path)
    if 'model' not in cfg:
        raise KeyError(f'teacher config {teacher} has no `model`')
    return cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)


def _state_dict_of(checkpoint: dict) -> dict:
    state = checkpoint.get('state_dict', checkpoint)
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


def load_teacher_checkpoint(teacher: nn.Module, filename: str) -> None:
    """Load ``filename`` into ``teacher`` with mmengine's ``load_checkpoint(strict=True)``; on a
    mismatch raise :class:`TeacherCheckpointError` naming the keys."""
    if '://' not in filename and not osp.isfile(filename):
        raise FileNotFoundError(f'teacher checkpoint {filename} not found: train the teacher first (its config '
                                f'is the `teacher` of the distillation config) or set model.teacher_ckpt=PATH')
    try:
        load_checkpoint(teacher, filename, map_location='cpu', strict=True, logger='current')
        return
    except RuntimeError as err:
        if 'do not match' not in str(err) and 'size mismatch' not in str(err):
            raise
    state = _state_dict_of(CheckpointLoader.load_checkpoint(filename, map_location='cpu'))
    own = teacher.state_dict()
    missing = [k for k in own if k not in state and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in state if k not in own]
    mismatched = [f'{k}: checkpoint {tuple(v.shape)} vs config {tuple(own[k].shape)}' for k, v in state.items()
                  if k in own and isinstance(v, torch.Tensor) and v.shape != own[k].shape]
    raise TeacherCheckpointError(filename, missing, unexpected, mismatched)


def freeze(module: nn.Module) -> nn.Module:
    """``requires_grad=False`` on every parameter, eval mode; returns ``module``."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def build_teacher(teacher: Union[dict, str, nn.Module], teacher_ckpt: Optional[str], registry) -> nn.Module:
    """Build (from a config dict or file), load ``teacher_ckpt`` and freeze the teacher.

    ``teacher_ckpt=None`` keeps the teacher's own initialisation (``init_weights()``), with a
    warning: only tests and deliberate random-teacher baselines want that.
    """
    model = teacher if isinstance(teacher, nn.Module) else registry.build(teacher_model_cfg(teacher))
    if teacher_ckpt is None:
        if not isinstance(teacher, nn.Module) and hasattr(model, 'init_weights'):
            model.init_weights()
        print_log('DistillationModel: teacher_ckpt is None, the teacher keeps its initial weights',
                  logger='current', level=30)
    else:
        load_teacher_checkpoint(model, teacher_ckpt)
    return freeze(model)

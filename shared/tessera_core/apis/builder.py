"""Build a ready-to-infer model from a model name or a config."""
import copy
import os
import os.path as osp
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope
from mmengine.runner import load_checkpoint
from mmengine.utils import import_modules_from_strings
from torch import nn

from .model_zoo import find_model
from .output_adapters import get_output_adapter


def _load_config(name_or_config: Union[str, os.PathLike, Config]) -> Config:
    """A :class:`Config` with ``default_scope`` set, from a config, a path or a model name."""
    if isinstance(name_or_config, Config):
        cfg = copy.deepcopy(name_or_config)  # a copy: we edit it
        cfg.setdefault('default_scope', 'tessera_core')
        return cfg
    spec = os.fspath(name_or_config)
    if spec.endswith('.py') or osp.sep in spec:
        if not osp.isfile(spec):
            raise FileNotFoundError(f'config file not found: {spec}')
        cfg = Config.fromfile(spec)
        cfg.setdefault('default_scope', 'tessera_core')
        return cfg
    info = find_model(spec)
    cfg = Config.fromfile(info.config)
    cfg.setdefault('default_scope', info.module)
    return cfg


def get_model(name_or_config: Union[str, os.PathLike, Config], checkpoint: Optional[str] = None,
              device: Union[str, torch.device] = 'cpu', cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a model in eval mode from a model name of any installed Tessera package or a config.

    Args:
        name_or_config: A name of :func:`list_models`, a config path or a :class:`Config`.
        checkpoint (str, optional): Weights loaded through mmengine's checkpoint loader
            (tessera-core's safe loader for local files); random weights when ``None``.
        device: Where the model lives.
        cfg_options (dict, optional): Overrides merged into the config, e.g.
            ``{'model.head.num_classes': 5}``.

    Returns:
        The model, with ``model.cfg`` (the config) and ``model.dataset_meta`` (from the
        checkpoint's meta when it has one, else from the config through the task's
        output adapter).
        It is built inside the config's ``default_scope`` (the process-wide default
        scope is left alone).
    """
    cfg = _load_config(name_or_config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    if 'model' not in cfg:
        raise ValueError(f'config {cfg.filename} has no model')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    dataset_meta = get_output_adapter(type(model).__name__, cfg.default_scope).dataset_meta(cfg)
    if checkpoint is not None:
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu')
        dataset_meta = (ckpt.get('meta') or {}).get('dataset_meta') or dataset_meta
    model.cfg = cfg
    model.dataset_meta = dict(dataset_meta)
    return model.to(device).eval()

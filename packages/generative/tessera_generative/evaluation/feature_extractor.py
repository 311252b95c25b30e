"""Feature extractors for the generative metrics: a trained classifier loaded from its config and
checkpoint (cached per process), or any user callable (e.g. an Inception-v3 where weights exist).

Calling convention of every extractor: ``extractor(images)`` with images (N, C, H, W) float in
[0, 255] (the range of ``fake_img`` / ``gt_img`` of :class:`BaseGAN`) -> Tensor (N, D).
"""
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Callable, Dict, Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from torch import nn

from tessera_generative.registry import MODELS

OUTPUTS = ('features', 'logits')
CACHE_ENV = 'TESSERA_FEATURE_NET_CACHE'
# (config path, checkpoint path, checkpoint mtime) -> loaded classifier, shared by every metric
_NET_CACHE: Dict[Tuple[str, str, float], nn.Module] = {}


def default_cache_dir() -> str:
    return os.environ.get(CACHE_ENV) or osp.join(osp.expanduser('~'), '.cache', 'tessera', 'feature_nets')


def resolve_config(config: str) -> str:
    """A path, ``tessera_<pkg>::relative/path.py`` inside a package's ``configs/``, or a path relative to
    this package's ``configs/`` (``feature_nets/x.py`` or ``configs/feature_nets/x.py``)."""
    if '::' in config:
        from tessera_core.config import package_config_path
        module, rel = config.split('::', 1)
        return package_config_path(module, rel)
    if osp.isfile(config):
        return osp.abspath(config)
    in_package = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
                          config[len('configs/'):] if config.startswith('configs/') else config)
    if osp.isfile(in_package):
        return in_package
    raise FileNotFoundError(f'feature-network config {config} does not exist (nor {in_package})')


def default_checkpoint(config_path: str, cache_dir: Optional[str] = None) -> str:
    """``<cache_dir>/<config name>_<hash>.pth``: the hash (8 hex digits of SHA-256) is of the effective
    config, so editing the config (or a base it inherits) selects a new checkpoint instead of silently
    reusing one trained with other settings."""
    import tessera_core  # noqa: F401  (tessera_core:: bases)
    cfg = Config.fromfile(config_path).to_dict()
    cfg.pop('work_dir', None)
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:8]
    stem = osp.splitext(osp.basename(config_path))[0]
    return osp.join(cache_dir or default_cache_dir(), f'{stem}_{digest}.pth')


def train_command(config_path: str, checkpoint: str) -> list:
    tool = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools', 'train_feature_net.py')
    return [sys.executable, tool, config_path, '--out', checkpoint]  # explicit --out: any checkpoint path


def clear_cache() -> None:
    _NET_CACHE.clear()


def load_feature_net(config_path: str, checkpoint: str) -> nn.Module:
    """Build ``cfg.model`` of ``config_path`` and load ``checkpoint`` strictly through mmengine's
    ``load_checkpoint`` (tessera-core's safe loader); cached per (config, checkpoint, mtime).

    Raises:
        ValueError: the checkpoint does not match the config (names both and mmengine's message).
    """
    key = (config_path, osp.abspath(checkpoint), osp.getmtime(checkpoint))
    if key in _NET_CACHE:
        return _NET_CACHE[key]
    import tessera_core  # noqa: F401  (tessera_core:: bases, safe checkpoint loading)
    cfg = Config.fromfile(config_path)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'tessera_generative')):
        model = MODELS.build(cfg.model)
    try:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    except (RuntimeError, KeyError) as err:
        raise ValueError(f'feature-network checkpoint {checkpoint} does not match its config {config_path} '
                         f'(train it with: {" ".join(train_command(config_path, checkpoint))}):\n{err}') from err
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    _NET_CACHE[key] = model
    return model


@MODELS.register_module()
class TrainedFeatureExtractor(nn.Module):
    """A classifier trained here (an ``ImageClassifier``: ``extract_feat`` + ``head``) as feature network.

    Args:
        config (str): Its config: a path or ``'tessera_generative::feature_nets/<name>.py'``.
        checkpoint (str, optional): Its weights; default :func:`default_checkpoint`
            (``<cache_dir>/<config name>_<config hash>.pth``).
        output (str): ``'features'`` (the head's input, pooled features: FID, precision/recall) or
            ``'logits'`` (the head's output: Inception Score).
        cache_dir (str, optional): Default ``$TESSERA_FEATURE_NET_CACHE`` or ``~/.cache/tessera/feature_nets``.
        train_if_missing (bool): A missing checkpoint is trained from ``config`` with
            ``tools/train_feature_net.py`` (in a subprocess) and saved there; otherwise refused.

    ``forward(images)``: (N, C, H, W) float in [0, 255] -> (N, D); the classifier's own data
    preprocessor normalises them.
    """

    def __init__(self, config: str, checkpoint: Optional[str] = None, output: str = 'features',
                 cache_dir: Optional[str] = None, train_if_missing: bool = True):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f'unknown output {output!r}; valid: {OUTPUTS}')
        self.config_path = resolve_config(config)
        if checkpoint is None:
            checkpoint = default_checkpoint(self.config_path, cache_dir)
        self.checkpoint, self.output, self.train_if_missing = checkpoint, output, train_if_missing
        self._net: Optional[nn.Module] = None

    def ensure_checkpoint(self) -> None:
        if osp.isfile(self.checkpoint):
            return
        cmd = train_command(self.config_path, self.checkpoint)
        if not self.train_if_missing:
            raise FileNotFoundError(f'feature-network checkpoint {self.checkpoint} does not exist; train it with: '
                                    + ' '.join(cmd))
        os.makedirs(osp.dirname(osp.abspath(self.checkpoint)), exist_ok=True)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0 or not osp.isfile(self.checkpoint):
            raise RuntimeError(f'training the feature network failed ({" ".join(cmd)}):\n{proc.stdout[-4000:]}')

    @property
    def net(self) -> nn.Module:
        if self._net is None:
            self.ensure_checkpoint()
            self._net = load_feature_net(self.config_path, self.checkpoint)
        return self._net

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        net = self.net
        x = net.data_preprocessor(dict(inputs=images.float()), False)['inputs']
        feats = net.extract_feat(x)
        if self.output == 'logits':
            return net.head(feats)
        return net.head.pre_logits(feats) if hasattr(net.head, 'pre_logits') else feats[-1]


def build_feature_extractor(spec: Union[dict, Callable, nn.Module]) -> Callable[[torch.Tensor], torch.Tensor]:
    """A config dict (built from this package's ``MODELS``, e.g. ``TrainedFeatureExtractor``) or a callable."""
    if isinstance(spec, dict):
        return MODELS.build(spec)
    if callable(spec):
        return spec
    raise TypeError(f'feature_extractor must be a config dict or a callable images -> features, '
                    f'got {type(spec).__name__}')

"""Convert timm ``ghostnet_050/100/130`` weights to a tessera-core GhostNet classifier.

GhostNet: More Features from Cheap Operations, Han et al., CVPR 2020, arXiv:1911.11907.
Official code: https://github.com/huawei-noah/Efficient-AI-Backbones (ghostnet_pytorch);
timm's ``timm/models/ghostnet.py`` uses the same parameter names.

The target is the state dict of::

    ImageClassifier(backbone=dict(type='GhostNet', widen_factor=w),
                    neck=dict(type='GlobalAveragePooling'),
                    head=dict(type='ConvClsHead', num_classes=K, in_channels=960 * w rounded,
                              mid_channels=1280, dropout=0.2))

File conversion (no network: the timm file must already be on disk) with :func:`main`, e.g.
``main(['model.safetensors', 'ghostnet_100.pth'])``; the result loads with ``load_from=``.
"""
import argparse
import re
from collections import OrderedDict
from typing import Dict, Optional

import torch

# Blocks per list in timm's ``cfgs`` (``blocks.<i>.<j>``); ``blocks.9.0`` is the final 1x1 ConvBnAct.
TIMM_GROUP_SIZES = (1, 1, 1, 1, 1, 1, 5, 1, 4)
# timm's stem width for each width multiplier (make_divisible(16 * w, 4)).
STEM_WIDTH_TO_WIDEN_FACTOR = {8: 0.5, 16: 1.0, 20: 1.3}

# Inside a bottleneck: ours -> timm. ConvBnAct(conv, bn) maps to timm's Sequential(conv, bn[, act])
# or to conv_dw / bn_dw; the shortcut's two ConvBnAct map to a 4-module Sequential.
_BLOCK_RULES = (
    (r'^(ghost[12]\.(?:primary_conv|cheap_operation))\.conv\.(.+)$', r'\1.0.\2'),
    (r'^(ghost[12]\.(?:primary_conv|cheap_operation))\.bn\.(.+)$', r'\1.1.\2'),
    (r'^conv_dw\.conv\.(.+)$', r'conv_dw.\1'),
    (r'^conv_dw\.bn\.(.+)$', r'bn_dw.\1'),
    (r'^se\.(conv_reduce|conv_expand)\.(.+)$', r'se.\1.\2'),
    (r'^shortcut\.0\.conv\.(.+)$', r'shortcut.0.\1'),
    (r'^shortcut\.0\.bn\.(.+)$', r'shortcut.1.\1'),
    (r'^shortcut\.1\.conv\.(.+)$', r'shortcut.2.\1'),
    (r'^shortcut\.1\.bn\.(.+)$', r'shortcut.3.\1'),
)


def _timm_block_name(flat_index: int) -> str:
    """Index of a bottleneck in network order -> timm's ``blocks.<i>.<j>``."""
    for i, size in enumerate(TIMM_GROUP_SIZES):
        if flat_index < size:
            return f'blocks.{i}.{flat_index}'
        flat_index -= size
    raise IndexError('more bottlenecks than timm GhostNet has')


def _block_key_to_timm(rest: str) -> str:
    for pattern, repl in _BLOCK_RULES:
        if re.match(pattern, rest):
            return re.sub(pattern, repl, rest)
    raise KeyError(f'no timm name for bottleneck parameter {rest!r}')


def backbone_key_map(widen_factor: float) -> 'OrderedDict[str, tuple]':
    """Our backbone key -> (timm key, shape) for a classification GhostNet of ``widen_factor``."""
    from tessera_core.models.backbones.ghostnet import GhostNet
    from tessera_core.models.layers import GhostBottleneck
    with torch.device('meta'):
        net = GhostNet(widen_factor=widen_factor, out_indices=(4,), init_cfg=None)
    block_index = {}  # our block prefix -> index in network order
    for prefix, module in net.named_modules():
        if isinstance(module, GhostBottleneck):
            block_index[prefix] = len(block_index)
    mapping = OrderedDict()
    for key, tensor in net.state_dict().items():
        if key.startswith('stem.0.'):
            timm_key = re.sub(r'^stem\.0\.conv\.', 'conv_stem.', key)
            timm_key = re.sub(r'^stem\.0\.bn\.', 'bn1.', timm_key)
        elif key.startswith('final_conv.'):
            timm_key = key.replace('final_conv.conv.', 'blocks.9.0.conv.').replace('final_conv.bn.', 'blocks.9.0.bn1.')
        else:
            m = re.match(r'^(stem\.\d+|stages\.\d+\.\d+)\.(.+)$', key)
            if m is None or m.group(1) not in block_index:
                raise KeyError(f'no timm name for GhostNet parameter {key!r}')
            timm_key = f'{_timm_block_name(block_index[m.group(1)])}.{_block_key_to_timm(m.group(2))}'
        mapping[key] = (timm_key, tuple(tensor.shape))
    return mapping


def convert_timm_ghostnet(state_dict: Dict[str, torch.Tensor],
                          widen_factor: Optional[float] = None) -> 'OrderedDict[str, torch.Tensor]':
    """Map a timm GhostNet state dict onto ``ImageClassifier(GhostNet, GlobalAveragePooling, ConvClsHead)``.

    Args:
        state_dict (dict): ``timm.create_model('ghostnet_100').state_dict()`` or the
            same from a file (any number of classes).
        widen_factor (float, optional): 0.5, 1.0 or 1.3; inferred from the stem
            width (8, 16, 20 channels) when None.

    Returns:
        OrderedDict: ``backbone.*`` and ``head.*`` tensors for
        ``ImageClassifier.load_state_dict(..., strict=True)``.

    Raises:
        ValueError: If keys are missing or unexpected (all of them are listed),
            or a tensor's shape differs from the GhostNet of that width.
    """
    if widen_factor is None:
        stem = state_dict.get('conv_stem.weight')
        if stem is None:
            raise ValueError("cannot infer widen_factor: 'conv_stem.weight' is missing from the timm state dict")
        widen_factor = STEM_WIDTH_TO_WIDEN_FACTOR.get(stem.shape[0])
        if widen_factor is None:
            raise ValueError(f'cannot infer widen_factor from a stem of {stem.shape[0]} channels; '
                             f'valid stem widths: {STEM_WIDTH_TO_WIDEN_FACTOR}')
    mapping = OrderedDict((f'backbone.{k}', v) for k, v in backbone_key_map(widen_factor).items())
    for name in ('weight', 'bias'):
        mapping[f'head.conv.{name}'] = (f'conv_head.{name}', None)
        mapping[f'head.fc.{name}'] = (f'classifier.{name}', None)

    expected = {timm_key for timm_key, _ in mapping.values()}
    missing = sorted(expected - set(state_dict))
    unexpected = sorted(set(state_dict) - expected)
    if missing or unexpected:
        raise ValueError(f'timm GhostNet (widen_factor={widen_factor}) state dict does not match: '
                         f'missing keys {missing}; unexpected keys {unexpected}')
    bad_shapes = [f'{timm_key}: {tuple(state_dict[timm_key].shape)} != {shape}'
                  for timm_key, shape in mapping.values()
                  if shape is not None and tuple(state_dict[timm_key].shape) != shape]
    if bad_shapes:
        raise ValueError(f'timm GhostNet state dict has shapes that do not fit widen_factor={widen_factor}: '
                         + '; '.join(bad_shapes))
    return OrderedDict((ours, state_dict[timm_key]) for ours, (timm_key, _) in mapping.items())


def _load_file(path: str) -> Dict[str, torch.Tensor]:
    if path.endswith('.safetensors'):
        try:
            from safetensors.torch import load_file
        except ImportError as e:
            raise ImportError('reading .safetensors needs the safetensors package') from e
        return load_file(path)
    obj = torch.load(path, map_location='cpu', weights_only=True)
    for key in ('state_dict', 'model'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    return obj


def main(argv=None):
    """``SRC DST [--widen-factor W]``: timm weights file -> mmengine checkpoint ``{'state_dict': ...}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='timm GhostNet weights (.pth/.bin or .safetensors)')
    parser.add_argument('dst', help='output mmengine checkpoint (.pth)')
    parser.add_argument('--widen-factor', type=float, default=None, help='0.5, 1.0 or 1.3 (default: inferred)')
    args = parser.parse_args(argv)
    converted = convert_timm_ghostnet(_load_file(args.src), args.widen_factor)
    torch.save(dict(state_dict=converted, meta=dict(converted_from=args.src)), args.dst)
    print(f'wrote {len(converted)} tensors to {args.dst}')

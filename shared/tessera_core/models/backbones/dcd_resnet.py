"""ResNet with dynamic convolution decomposition (DCD) in its residual blocks.

Revisiting Dynamic Convolution via Matrix Decomposition, Li et al., ICLR 2021, arXiv:2103.08756.
Official code: https://github.com/liyunsheng13/dcd (``models/imagenet/resnet_dcd.py``).

As in the official ``resnet18_dcd``/``resnet50_dcd``, every conv of every residual block is a
:class:`~tessera_core.models.layers.DCDConv2d` (both 3x3 convs of a basic block; the 1x1, 3x3
and 1x1 convs of a bottleneck), while the stem and the 1x1 projection shortcuts stay static.
"""
from typing import Optional

from mmcv.cnn import build_conv_layer

from tessera_core.registry import MODELS

from .resnet import BasicBlock, ResNet


@MODELS.register_module()
class DCDResNet(ResNet):
    """:class:`ResNet` whose residual-block convs are DCD convs.

    Default DCD settings per block type (official code): basic blocks (ResNet-18/34) pool the
    input of their convs to 2 x 2, so L = floor(2 sqrt(C_in)) (``conv_basic_dy``); bottlenecks
    (ResNet-50/101) pool to 1 x 1, L = floor(sqrt(C_in)) (``conv_dy``); squeeze width
    ``max(4, C_in * pool**2 // 16)``.

    Args:
        depth (int): 18, 34, 50 or 101.
        dcd_cfg (dict, optional): mmcv conv config of the block convs; None for the defaults
            above, e.g. ``dict(type='DCD', latent_dim='sqrt', pool_size=2, squeeze_ratio=16)``.
        conv_cfg (dict, optional): Config of the static convs (stem, shortcuts).
        **kwargs: The other arguments of :class:`ResNet` (``in_channels``, ``stem``,
            ``stem_stride``, ``base_channels``, ``out_indices``, ``frozen_stages``, ``norm_eval``,
            ``norm_cfg``, ``init_cfg``, ``strides``, ...); ``dilations`` must stay 1.

    Shapes: as :class:`ResNet`.
    """

    def __init__(self, depth: int = 18, dcd_cfg: Optional[dict] = None, conv_cfg: Optional[dict] = None,
                 **kwargs):
        dilations = tuple(kwargs.get('dilations') or ())
        if any(d != 1 for d in dilations):
            raise ValueError(f'DCDResNet: dilations must all be 1 (the DCD convs are not dilated), got {dilations}')
        super().__init__(depth=depth, conv_cfg=conv_cfg, **kwargs)
        block_type = self.arch_settings[depth][0]
        if dcd_cfg is None:
            dcd_cfg = dict(type='DCD', latent_dim='sqrt', pool_size=2 if block_type is BasicBlock else 1,
                           squeeze_ratio=16)
        self.dcd_cfg = dcd_cfg
        for name in self.res_layers:
            for block in getattr(self, name):
                for conv_name in ('conv1', 'conv2', 'conv3'):
                    conv = getattr(block, conv_name, None)
                    if conv is None:
                        continue
                    setattr(block, conv_name, build_conv_layer(
                        dcd_cfg, conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                        conv.padding, bias=False))
        self._freeze_stages()  # the new convs of frozen stages

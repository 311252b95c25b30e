"""MobileNetV2 with dynamic convolution decomposition (DCD) in its pointwise convs.

Revisiting Dynamic Convolution via Matrix Decomposition, Li et al., ICLR 2021, arXiv:2103.08756.
Official code: https://github.com/liyunsheng13/dcd (``models/imagenet/mobilenetv2_dcd.py``).

As in the official ``mobilenetv2_dcd``, the expansion and the projection 1x1 convs of every
inverted residual block with expansion t > 1 are DCD convs (``DYModule``); the stem, the first
(t = 1) block, the depthwise convs and the final 1x1 conv stay static.
"""
from typing import Optional

from tessera_core.registry import MODELS

from .mobilenet_v2 import MobileNetV2


@MODELS.register_module()
class DCDMobileNetV2(MobileNetV2):
    """:class:`MobileNetV2` whose expanding blocks use DCD pointwise convs.

    Per conv (official ``DYModule``, ``pool_size='auto'``): an expanding conv (C_in < C_out) pools
    its input to 2 x 2, a reducing one to 1 x 1; the latent size follows the ``'halving'`` rule of
    :class:`~tessera_core.models.layers.DCDConv2d`; squeeze width
    ``max(4, max(C_in * pool**2, L**2) // fc_squeeze)``.

    Args:
        widen_factor (float): Width multiplier (as :class:`MobileNetV2`).
        fc_squeeze (int): Squeeze divisor of the dynamic branch: 16 as the official commands for
            MobileNetV2 1.0x (``--fc-squeeze 16``), 8 the official script's default.
        **kwargs: The other arguments of :class:`MobileNetV2` except ``conv_cfg``.

    Shapes: as :class:`MobileNetV2`.
    """

    def __init__(self, widen_factor: float = 1.0, fc_squeeze: int = 16,
                 init_cfg=(dict(type='Kaiming', layer='Conv2d'),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
                           dict(type='Normal', layer='Linear', std=0.01)),
                 **kwargs):
        if 'conv_cfg' in kwargs:
            raise TypeError('DCDMobileNetV2 sets conv_cfg itself (DCD pointwise convs); use fc_squeeze '
                            'or MobileNetV2(conv_cfg=...) instead')
        super().__init__(widen_factor=widen_factor, init_cfg=init_cfg,
                         conv_cfg=dict(type='DCD', latent_dim='halving', pool_size='auto', squeeze_ratio=fc_squeeze),
                         **kwargs)
        self.fc_squeeze = fc_squeeze

    def pointwise_conv_cfg(self, expand_ratio: float) -> Optional[dict]:
        """DCD for the blocks that expand (t > 1), static convs for the t = 1 block."""
        return None if expand_ratio == 1 else self.conv_cfg

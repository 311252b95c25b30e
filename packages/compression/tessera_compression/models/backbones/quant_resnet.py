"""tessera-core's ResNet with a separately configured stem convolution.

N2UQ (arXiv:2111.14826) and ReActNet (arXiv:2003.03488) keep the first convolution, whose input
is the signed, normalised image, and the last fully connected layer at full precision (LSQ,
arXiv:1902.08153, quantizes them to 8 bits instead; here the same layers stay full precision for
every method compared). tessera-core's ``ResNet`` builds every
convolution, the stem included, from one ``conv_cfg``; this subclass rebuilds the stem
convolution from ``stem_conv_cfg`` (default: a plain ``Conv2d``), so that
``conv_cfg=dict(type='LSQConv2d', w_bits=4, a_bits=4)`` quantizes the residual stages only.
"""
from typing import Optional

from mmcv.cnn import build_conv_layer
from tessera_core.models.backbones import ResNet

from tessera_compression.registry import MODELS

__all__ = ['QuantResNet']


@MODELS.register_module()
class QuantResNet(ResNet):
    """``ResNet`` (tessera-core) whose stem convolution is built from ``stem_conv_cfg``.

    Args:
        stem_conv_cfg (dict, optional): Config of the stem convolution; None (default) keeps it
            full precision whatever ``conv_cfg`` says.
        *args, **kwargs: Arguments of tessera-core's ``ResNet`` (``depth``, ``in_channels``,
            ``stem``, ``base_channels``, ``out_indices``, ``conv_cfg``, ``norm_cfg``, ...).

    Shapes: as ``ResNet``.
    """

    def __init__(self, *args, stem_conv_cfg: Optional[dict] = None, **kwargs):
        super().__init__(*args, **kwargs)
        conv = self.stem[0]
        self.stem[0] = build_conv_layer(stem_conv_cfg, conv.in_channels, conv.out_channels, conv.kernel_size,
                                        conv.stride, conv.padding, bias=conv.bias is not None)
        self._freeze_stages()

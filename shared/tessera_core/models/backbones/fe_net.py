"""Sparse-shift networks (the SSL basic block) on MobileNetV2's layout.

All You Need is a Few Shifts: Designing Efficient Convolutional Neural Networks for Image
Classification (Sparse Shift Layer and FE-Net), Chen, Xie, Zhang, Pu, CVPR 2019, arXiv:1903.05285.
No official code is public.

The paper's basic block "is only composed by 1x1 convolutional layers with only a few shift operations
applied to the intermediate feature maps": 1x1 conv-BN-ReLU -> Sparse Shift Layer -> 1x1 conv-BN
(+ identity). :class:`SparseShiftMobileNetV2` builds that block on every row of MobileNetV2's Table 2
(its 3x3 depthwise conv-BN-ReLU6 replaced by a :class:`SparseShift2d` of the same stride), so the two
networks differ only in the spatial operator.

NOT here: the FE-Block and the FE-Net architecture table (1.0x / 1.37x). Neither the paper's text nor
an implementation of them was available to this build (only the abstract and a third-party SSL
layer), so they are left out rather than guessed.
"""
from typing import Tuple

from torch import nn

from tessera_core.models.layers.sparse_shift import SparseShift2d, quantize_sparse_shifts, sparse_shift_statistics
from tessera_core.registry import MODELS

from .mobilenet_v2 import InvertedResidual, MobileNetV2


@MODELS.register_module()
class SparseShiftMobileNetV2(MobileNetV2):
    """MobileNetV2 whose depthwise 3x3 convs are Sparse Shift Layers (the SSL basic block).

    Every inverted residual becomes [1x1 conv-BN-ReLU6 (omitted when t = 1)] -> SparseShift2d(stride s)
    -> 1x1 conv-BN (+ identity when the shape is kept). The stem 3x3 conv and the final 1x1 conv stay.

    Args:
        shift_cfg (dict): Keyword arguments of every :class:`SparseShift2d` (``penalty_weight``,
            ``init_range``, ``train_mode``).
        **kwargs: :class:`MobileNetV2`'s arguments (``widen_factor``, ``in_channels``, ``out_indices``,
            ``stem_stride``, ...).

    Shapes: as :class:`MobileNetV2`.
    """

    def __init__(self, shift_cfg: dict = dict(), **kwargs):
        if 'conv_cfg' in kwargs and kwargs['conv_cfg'] is not None:
            raise ValueError('SparseShiftMobileNetV2 does not take conv_cfg (its pointwise convs are nn.Conv2d)')
        super().__init__(**kwargs)
        for m in self.modules():
            if isinstance(m, InvertedResidual):
                dw = m.depthwise.conv
                m.depthwise = SparseShift2d(dw.in_channels, stride=dw.stride[0], **shift_cfg)
        self._freeze_stages()

    def sparse_shift_statistics(self) -> dict:
        """Share of channels whose integer shift is zero, over every SSL (see :func:`sparse_shift_statistics`)."""
        return sparse_shift_statistics(self)

    def quantize_shifts(self) -> Tuple['SparseShiftMobileNetV2', dict]:
        """Quantise every SSL (they must be trained); returns self and the statistics."""
        return quantize_sparse_shifts(self)

"""ResNet with temporal shift modules (TSM).

TSM: Temporal Shift Module for Efficient Video Understanding, Lin, Gan and Han, arXiv:1811.08383.
Official code: https://github.com/mit-han-lab/temporal-shift-module (``ops/models.py`` with ``is_shift``,
``ops/temporal_shift.py: make_temporal_shift``).

tessera-core's 2D ``ResNet`` with a :class:`TemporalShift` before the first convolution of the residual branch
of every block (``shift_place='blockres'``, the paper's residual shift), shifting 1/8 of the channels one
frame back and 1/8 one frame forward. Same parameters and FLOPs as the 2D ResNet.
"""
from tessera_core.models.backbones import ResNet
from tessera_video.registry import MODELS

from ..layers.temporal_shift import SHIFT_PLACES, make_temporal_shift


@MODELS.register_module()
class ResNetTSM(ResNet):
    """ResNet applied per frame, with temporal shifts that exchange information between frames.

    Args:
        num_segments (int): T, frames per clip; inputs are (N*T, C, H, W), clip-major.
        shift_div (int): 1/shift_div of the channels move each way (8 in the paper).
        shift_place (str): ``'blockres'`` (residual shift, default) or ``'block'`` (in-place shift).
        **kwargs: Arguments of tessera-core's ``ResNet`` (depth, in_channels, stem, base_channels, ...).

    Shapes: input (N*T, C_in, H, W) -> tuple of stage outputs (N*T, C_i, H_i, W_i), as the 2D ResNet.
    """

    def __init__(self, num_segments: int = 8, shift_div: int = 8, shift_place: str = 'blockres', **kwargs):
        super().__init__(**kwargs)
        if shift_place not in SHIFT_PLACES:
            raise ValueError(f'invalid shift_place {shift_place!r}; valid: {SHIFT_PLACES}')
        self.num_segments, self.shift_div, self.shift_place = num_segments, shift_div, shift_place
        self.num_shifts = make_temporal_shift(self, tuple(self.res_layers), num_segments, shift_div, shift_place)

"""CoST ResNet: the C2D 3D ResNet with CoST units in place of the spatiotemporal (3x3x3) convs.

Collaborative Spatiotemporal Feature Learning for Video Action Recognition, Li et al., CVPR 2019,
arXiv:1903.01197; official code https://github.com/hikvision-research/cost (``ResNet3dCoST``).

The official network is mmaction2's ResNet3d in its C2D form (1x7x7 stem, the stem's 1x3x3 max pool padded,
a 2x1x1 / stride-2 temporal max pool after stage 1, 1x3x3 convs) in which the 3x3 conv of the inflated blocks
becomes a CoST unit. For ResNet-50 the inflated blocks are one of every two, the pattern of the non-local
paper's I3D (``INFLATE[50]``); the same positions with a 3x3x3 conv give the C3D baseline (the official code
compares with I3D's 3x1x1 there), with none the C2D baseline. Both baselines are this class:
``st_conv='3x3x3'`` and ``inflate=(0, 0, 0, 0)``, so the three networks differ only in the inflated convs.
"""
from typing import Optional, Sequence

from torch import nn

from tessera_video.registry import MODELS
from .resnet3d import ResNet3d

# depth -> default per-block placement of the CoST units (1 = the block's 3x3 conv(s) become CoST).
# 50: the official ResNet3dCoST-R50 configs (every other bottleneck, as the non-local I3D); 18 / 34: no official
# configuration exists (the paper uses ResNet-50 / 101); every basic-block 3x3 conv, the placement of this
# package's C3D-style ResNet3d.
INFLATE = {
    18: (1, 1, 1, 1),
    34: (1, 1, 1, 1),
    50: ((0, 1, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (1, 0, 1)),
}
# st_conv -> the conv config of the inflated positions (None: a plain 3x3x3 Conv3d, the C3D baseline)
ST_CONVS = {'costa': 'CoSTa', 'costb': 'CoSTb', '3x3x3': None}


@MODELS.register_module()
class ResNet3dCoST(ResNet3d):
    """3D ResNet with CoST units (or 3x3x3 convs / nothing, for the baselines) at the inflated positions.

    Args:
        depth (int): 18, 34 or 50.
        st_conv (str): ``'costa'`` (CoST(a), learned coefficients), ``'costb'`` (CoST(b), attention
            coefficients) or ``'3x3x3'`` (plain 3x3x3 convs: the C3D baseline at the same positions).
        st_conv_kwargs (dict, optional): Extra arguments of the CoST units (``alpha_init``,
            ``attention_init_std``).
        inflate (Sequence, optional): Per stage 0/1 or per-block flags; None for :data:`INFLATE` of the depth;
            all zeros gives the C2D baseline.
        **kwargs: The other arguments of :class:`ResNet3d` (``in_channels``, ``base_channels``, ``stem``,
            ``out_indices``, ``norm_cfg``, ``zero_init_residual``, ``init_cfg``); ``variant`` is always C2D's.

    Shapes: as ``ResNet3d(variant='c2d')`` except that the stem's max pool is padded (0, 1, 1), as the official
    ``ResNet3dCoST``: (N, C, T, H, W) -> (N, C_i, T / 2 (after stage 0), H / (4 * 2**i), W / (4 * 2**i)).
    """

    def __init__(self, depth: int = 50, st_conv: str = 'costa', st_conv_kwargs: Optional[dict] = None,
                 inflate: Optional[Sequence] = None, **kwargs):
        if st_conv not in ST_CONVS:
            raise ValueError(f'invalid st_conv {st_conv!r} for ResNet3dCoST; valid: {tuple(ST_CONVS)}')
        for key in ('variant', 'st_conv_cfg', 'inflate_style'):
            if key in kwargs:
                raise TypeError(f'ResNet3dCoST sets {key} itself (C2D design, the inflated 3x3 convs replaced '
                                f'as st_conv says); got {key}={kwargs[key]!r}')
        if depth not in INFLATE:
            raise KeyError(f'invalid depth {depth} for ResNet3dCoST; valid: {sorted(INFLATE)}')
        if st_conv_kwargs and ST_CONVS[st_conv] is None:
            raise ValueError(f'st_conv_kwargs apply to CoST units only, not to st_conv={st_conv!r}')
        cfg = None if ST_CONVS[st_conv] is None else dict(type=ST_CONVS[st_conv], **(st_conv_kwargs or {}))
        super().__init__(depth=depth, variant='c2d', inflate=INFLATE[depth] if inflate is None else inflate,
                         inflate_style='3x3x3', st_conv_cfg=cfg, **kwargs)
        self.st_conv = st_conv
        if isinstance(self.stem[-1], nn.MaxPool3d):  # imagenet stem: the official padded 1x3x3 max pool
            self.stem[-1] = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))

    def cost_layers(self):
        """(name, module) of the CoST units, in network order."""
        from tessera_video.models.layers.cost import _CoST
        return [(n, m) for n, m in self.named_modules() if isinstance(m, _CoST)]

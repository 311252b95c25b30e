"""G-Ghost stage: a stage whose deep features are partly complex (a thin chain of blocks), partly cheap.

GhostNets on Heterogeneous Devices via Cheap Operations, Han et al., IJCV 2022, arXiv:2201.03297.
Official code: https://github.com/huawei-noah/Efficient-AI-Backbones (g_ghost_pytorch/g_ghost_regnet.py).
"""
from typing import Callable, List, Optional, Tuple

import torch
from mmcv.cnn import build_activation_layer
from torch import nn

from .conv_bn_act import ConvBnAct

BlockBuilder = Callable[[int, int, int], nn.Module]


def g_ghost_split(out_channels: int, cheap_ratio: float, divisor: int = 1) -> Tuple[int, int]:
    """Split a stage width into (complex, cheap) channels as the official code does.

    ``complex = floor(out_channels * (1 - cheap_ratio) / divisor) * divisor`` (a
    multiple of ``divisor``, e.g. the group width of the complex blocks) and
    ``cheap = out_channels - complex``, e.g. ``g_ghost_split(192, 0.5, 36) == (72, 120)``.

    Raises:
        ValueError: if ``cheap_ratio`` is not in (0, 1), ``divisor`` is not
            positive, or the split leaves either part empty.
    """
    if not 0 < cheap_ratio < 1:
        raise ValueError(f'cheap_ratio must lie in (0, 1), got {cheap_ratio!r}')
    if not isinstance(divisor, int) or divisor <= 0:
        raise ValueError(f'divisor must be a positive int, got {divisor!r}')
    complex_channels = int(out_channels * (1 - cheap_ratio) / divisor) * divisor
    cheap_channels = out_channels - complex_channels
    if complex_channels <= 0 or cheap_channels <= 0:
        raise ValueError(f'cannot split {out_channels} channels with cheap_ratio={cheap_ratio} and divisor '
                         f'{divisor}: got {complex_channels} complex + {cheap_channels} cheap channels')
    return complex_channels, cheap_channels


class GGhostStage(nn.Module):
    """G-Ghost stage with the "mix" of intermediate features (paper Sec. 4, Fig. "G-Ghost stage w/ mix").

    With ``n = num_blocks``, ``C = out_channels``, ``C_c`` complex and ``C - C_c``
    cheap channels (:func:`g_ghost_split`)::

        x0 = first_block(x)                               # (N, C, H', W'), does the stride
        e_1 = x0[:, :C_c];  e_k = complex_blocks[k-1](e_{k-1})  for k = 2 .. n-1   # n-2 thin blocks
        mix = mix(GAP(cat[x0, e_2, ..., e_{n-1}]))        # (N, C - C_c, 1, 1)
        ghost = ReLU(cheap(x0[:, C_c:]) + mix)            # cheap op on the first block's output
        y = last_block(cat[e_{n-1}, ghost])               # (N, C, H', W')

    The complex path keeps only ``C_c`` channels through the middle ``n - 2``
    blocks; the other ``C - C_c`` output channels are "ghosts" made from the
    first block's output by a cheap 1x1 conv + BN, enhanced by ``mix``: global
    average pooling of the concatenated first-block output and every complex
    block's output, then 1x1 conv-BN-ReLU and 1x1 conv-BN (the official
    ``merge``). As in the official code the stage is closed by a full-width
    block on the concatenation, so the stage still has ``n`` blocks.

    The stage is generic over the block: ``block(in_channels, out_channels,
    stride)`` builds the first and last (full-width) blocks and
    ``complex_block`` (default ``block``) the thin ones; each must map
    (N, in, H, W) to (N, out, ceil(H / stride), ceil(W / stride)) and handle its
    own shortcut. Bind other settings (group width, norm) with
    :func:`functools.partial`.

    Args:
        block (callable): Builder of the first and last blocks.
        in_channels (int): Stage input channels.
        out_channels (int): Stage width C.
        num_blocks (int): n >= 3 (first, n - 2 complex, last).
        stride (int): Stride of the first block.
        cheap_ratio (float): Fraction of C made cheaply, in (0, 1) (0.5 in the paper).
        channel_divisor (int): The complex width is a multiple of it (the
            official code uses the complex blocks' group width).
        complex_block (callable, optional): Builder of the thin blocks.
        norm_cfg (dict): Norm of the cheap operation and of the mix branch.
        act_cfg (dict): Activation of the mix branch and after the ghost sum.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, block: BlockBuilder, in_channels: int, out_channels: int, num_blocks: int,
                 stride: int = 2, cheap_ratio: float = 0.5, channel_divisor: int = 1,
                 complex_block: Optional[BlockBuilder] = None, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU', inplace=True)):
        super().__init__()
        if not isinstance(num_blocks, int) or num_blocks < 3:
            raise ValueError(f'a G-Ghost stage needs num_blocks >= 3 (first, complex, last block), '
                             f'got {num_blocks!r}')
        complex_block = block if complex_block is None else complex_block
        self.in_channels, self.out_channels, self.num_blocks = in_channels, out_channels, num_blocks
        self.complex_channels, self.cheap_channels = g_ghost_split(out_channels, cheap_ratio, channel_divisor)
        c, g = self.complex_channels, self.cheap_channels
        self.first_block = block(in_channels, out_channels, stride)
        self.complex_blocks = nn.ModuleList(complex_block(c, c, 1) for _ in range(num_blocks - 2))
        self.mix_channels = out_channels + c * (num_blocks - 2)  # channels pooled by the mix
        self.mix = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            ConvBnAct(self.mix_channels, g, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvBnAct(g, g, 1, norm_cfg=norm_cfg, act_cfg=None))
        self.cheap = ConvBnAct(g, g, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.cheap_act = build_activation_layer(act_cfg)
        self.last_block = block(out_channels, out_channels, 1)

    def forward_paths(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, List[torch.Tensor]]:
        """x -> (complex (N, C_c, H', W'), ghost (N, C - C_c, H', W'), [x0, e_2, ..., e_{n-1}])."""
        x0 = self.first_block(x)
        feats, e = [x0], x0[:, :self.complex_channels]
        for blk in self.complex_blocks:
            e = blk(e)
            feats.append(e)
        mix = self.mix(torch.cat(feats, dim=1))
        ghost = self.cheap_act(self.cheap(x0[:, self.complex_channels:]) + mix)
        return e, ghost, feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e, ghost, _ = self.forward_paths(x)
        return self.last_block(torch.cat([e, ghost], dim=1))

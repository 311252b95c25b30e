"""Conv -> BatchNorm -> optional activation, with BatchNorm folding for deployment."""
from typing import Optional

import torch
from mmcv.cnn import build_activation_layer, build_norm_layer
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def fuse_conv_bn(conv: nn.Conv2d, bn: _BatchNorm) -> nn.Conv2d:
    """Return a conv (with bias) equal to ``bn(conv(x))`` with ``bn`` in eval mode.

    With ``s = gamma / sqrt(running_var + eps)``: ``W' = W * s`` per output
    channel and ``b' = (b - running_mean) * s + beta`` (``b = 0`` if the conv
    had no bias).
    """
    if not isinstance(bn, _BatchNorm):
        raise TypeError(f'can only fold a BatchNorm into a conv, got {type(bn).__name__}')
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError('cannot fold a BatchNorm without running statistics (track_running_stats=False)')
    weight = conv.weight.detach()
    scale = torch.rsqrt(bn.running_var.detach() + bn.eps)
    if bn.affine:
        scale = scale * bn.weight.detach()
    bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    bias = (bias - bn.running_mean.detach()) * scale
    if bn.affine:
        bias = bias + bn.bias.detach()
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                      conv.dilation, conv.groups, bias=True, padding_mode=conv.padding_mode,
                      device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        fused.weight.copy_(weight * scale.reshape(-1, 1, 1, 1))
        fused.bias.copy_(bias)
    fused.weight.requires_grad_(conv.weight.requires_grad)
    fused.bias.requires_grad_(conv.weight.requires_grad)
    return fused


class ConvBnAct(nn.Module):
    """``act(bn(conv(x)))`` with "same" padding ``kernel_size // 2`` and a bias-free conv.

    Args:
        in_channels (int): Input channels C_in.
        out_channels (int): Output channels C_out.
        kernel_size (int): Square kernel size (odd).
        stride (int): Conv stride.
        groups (int): Conv groups (``groups == in_channels`` for a depthwise conv).
        norm_cfg (dict): mmcv norm config, BatchNorm by default.
        act_cfg (dict, optional): mmcv activation config; None for no activation.

    Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)).

    After :meth:`switch_to_deploy` the norm is folded into ``conv`` (which gets a
    bias) and ``bn`` becomes ``nn.Identity``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1,
                 groups: int = 1, norm_cfg: dict = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU', inplace=True)):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2,
                              groups=groups, bias=False)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = build_activation_layer(act_cfg) if act_cfg is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        # Identity norms (folded) and activations are skipped rather than called: batch-1 CPU latency of
        # small networks is dominated by per-module Python overhead (measured in
        # shared/benchmarks/backbone_latency.py).
        if not isinstance(self.bn, nn.Identity):
            x = self.bn(x)
        if not isinstance(self.act, nn.Identity):
            x = self.act(x)
        return x

    def switch_to_deploy(self) -> None:
        """Fold ``bn`` into ``conv`` (inference only: uses the running statistics)."""
        if isinstance(self.bn, nn.Identity):
            return
        self.conv = fuse_conv_bn(self.conv, self.bn)
        self.bn = nn.Identity()

"""CoST: the collaborative spatiotemporal unit.

Collaborative Spatiotemporal Feature Learning for Video Action Recognition, Li, Zhong, Xie and Pu, CVPR 2019,
arXiv:1903.01197; official code (PyTorch, on mmaction2 0.x): https://github.com/hikvision-research/cost
(``cost/models/common/conv_cost.py``).

One 2D kernel ``w`` (C_out, C_in, k, k) is applied to the three orthogonal views of a feature volume
x (N, C_in, T, H, W), as three 3D convolutions with the same weights reshaped::

    x_hw = x * w[1 x k x k]      (w's rows index H, its columns W: per frame, the spatial view)
    x_tw = x * w[k x 1 x k]      (rows index T, columns W)
    x_th = x * w[k x k x 1]      (rows index T, columns H)

and the three responses are fused per output channel c::

    y[:, c] = a_hw[c] x_hw[:, c] + a_tw[c] x_tw[:, c] + a_th[c] x_th[:, c]

- **CoST(a)** (:class:`CoSTa`): the coefficients are model parameters ``alpha`` (3, C_out), the same for every
  input; as in the official code they are softmax-normalised over the three views, ``a = softmax(alpha, 0)``,
  and initialised to ``alpha_hw = 0.7``, ``alpha_tw = alpha_th = -0.7`` (a = 0.670, 0.165, 0.165: mostly
  spatial, close to the C2D start the paper fine-tunes from).
- **CoST(b)** (:class:`CoSTb`): the coefficients are predicted from the features (attention): each view's
  response is globally max-pooled to (N, C_out); a fully connected layer C_out -> C_out, shared by the three
  views, then a fully connected layer 3 -> 3 across the views (shared by the channels), both without bias and
  initialised N(0, 0.01); softmax over the views gives a (N, 3, C_out) that sums to 1 over the views for every
  sample and channel.

Parameters: the kernel has exactly the C_out * C_in * k * k weights of the 1 x k x k conv of a C2D network (and
a third of a k x k x k conv of C3D); CoST(a) adds 3 * C_out, CoST(b) C_out ** 2 + 9. MACs: three times the
spatial conv's (the same as a k x k x k conv).
"""
from typing import Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from tessera_video.registry import MODELS

VIEWS = ('hw', 'tw', 'th')


def _cubic(value, name: str) -> int:
    """An int, or a 3-tuple of equal ints, as one int; anything else is refused naming ``name``."""
    if isinstance(value, int):
        return value
    value = tuple(value)
    if len(value) != 3 or len(set(value)) != 1 or not isinstance(value[0], int):
        raise ValueError(f'CoST needs the same {name} along T, H and W (one 2D kernel applied to the three '
                         f'views), got {name}={value}')
    return value[0]


def cost_views(x: torch.Tensor, weight: torch.Tensor, stride, padding: int, groups: int = 1
               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The three view responses of the shared kernel.

    Args:
        x (Tensor): (N, C_in, T, H, W).
        weight (Tensor): (C_out, C_in / groups, 1, k, k), the shared 2D kernel stored as a 1 x k x k conv's.
        stride (tuple[int]): (t, h, w) stride, the same for the three views.
        padding (int): k // 2 keeps the three outputs the same size.

    Returns:
        tuple[Tensor]: x_hw, x_tw, x_th, each (N, C_out, T', H', W').
    """
    w2d = weight.squeeze(2)  # (C_out, C_in, k, k): rows, columns
    p = padding
    hw = F.conv3d(x, w2d.unsqueeze(2), None, stride, (0, p, p), 1, groups)  # (1, k, k): rows -> H, cols -> W
    tw = F.conv3d(x, w2d.unsqueeze(3), None, stride, (p, 0, p), 1, groups)  # (k, 1, k): rows -> T, cols -> W
    th = F.conv3d(x, w2d.unsqueeze(4), None, stride, (p, p, 0), 1, groups)  # (k, k, 1): rows -> T, cols -> H
    return hw, tw, th


class _CoST(nn.Module):
    """Shared kernel, views and fusion; subclasses give :meth:`coefficients`.

    Same arguments as :class:`torch.nn.Conv3d` (so mmcv's ``build_conv_layer`` and ``ResNet3d(st_conv_cfg=...)``
    can build it in place of a 3x3x3 conv), restricted to one cubic kernel size, stride per axis, padding
    ``kernel_size // 2`` and dilation 1.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Union[int, Tuple[int, int, int]] = 3,
                 stride: Union[int, Tuple[int, int, int]] = 1, padding: Union[int, Tuple[int, int, int]] = 1,
                 dilation: Union[int, Tuple[int, int, int]] = 1, groups: int = 1, bias: bool = True):
        super().__init__()
        k = _cubic(kernel_size, 'kernel_size')
        p = _cubic(padding, 'padding')
        if k % 2 != 1 or p != k // 2:
            raise ValueError(f'CoST needs an odd kernel_size and padding = kernel_size // 2 (so that the three '
                             f'views give the same output size), got kernel_size={kernel_size}, padding={padding}')
        if _cubic(dilation, 'dilation') != 1:
            raise ValueError(f'CoST supports dilation 1 only, got dilation={dilation}')
        if in_channels % groups or out_channels % groups:
            raise ValueError(f'in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible '
                             f'by groups ({groups})')
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.padding = k, p
        self.stride = (stride,) * 3 if isinstance(stride, int) else tuple(stride)
        if len(self.stride) != 3:
            raise ValueError(f'stride must be an int or (t, h, w), got stride={stride}')
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, 1, k, k))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        # Kaiming normal, fan-out (mmcv's kaiming_init, as the official code): fan_out = C_out * k * k
        nn.init.kaiming_normal_(self.weight, mode='fan_out', nonlinearity='relu')

    def coefficients(self, hw: torch.Tensor, tw: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
        """Fusion weights, (3, C_out) or (N, 3, C_out), views in the order of :data:`VIEWS`."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError(f'{type(self).__name__} expects (N, C, T, H, W), got shape {tuple(x.shape)}')
        hw, tw, th = cost_views(x, self.weight, self.stride, self.padding, self.groups)
        a = self.coefficients(hw, tw, th)
        a = a[..., None, None, None]  # (.., 3, C, 1, 1, 1)
        if a.dim() == 5:  # (3, C, 1, 1, 1): the same for all samples
            y = hw * a[0] + tw * a[1] + th * a[2]
        else:  # (N, 3, C, 1, 1, 1)
            y = hw * a[:, 0] + tw * a[:, 1] + th * a[:, 2]
        if self.bias is not None:
            y = y + self.bias.view(-1, 1, 1, 1)
        return y

    def extra_repr(self) -> str:
        s = (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size} (shared by the views '
             f'{"/".join(VIEWS)}), stride={self.stride}, padding={self.padding}')
        if self.groups != 1:
            s += f', groups={self.groups}'
        return s + (', bias=False' if self.bias is None else '')


@MODELS.register_module()
class CoSTa(_CoST):
    """CoST(a): coefficients learned as parameters, ``a = softmax(alpha, dim=0)`` with ``alpha`` (3, C_out).

    Args (beyond :class:`torch.nn.Conv3d`'s):
        alpha_init (tuple[float]): Initial (alpha_hw, alpha_tw, alpha_th), the official (0.7, -0.7, -0.7).
    """

    def __init__(self, *args, alpha_init: Tuple[float, float, float] = (0.7, -0.7, -0.7), **kwargs):
        super().__init__(*args, **kwargs)
        if len(alpha_init) != 3:
            raise ValueError(f'alpha_init must give one value per view {VIEWS}, got {alpha_init}')
        self.alpha = nn.Parameter(torch.tensor(alpha_init, dtype=torch.float32)[:, None].repeat(1,
                                                                                                 self.out_channels))

    def coefficients(self, hw=None, tw=None, th=None) -> torch.Tensor:
        return torch.softmax(self.alpha, dim=0)


class ViewAttention(nn.Module):
    """CoST(b)'s coefficient predictor: (x_hw, x_tw, x_th) -> (N, 3, C) softmax over the views.

    global max pool of each view -> fc1 (C -> C, shared by the views) -> fc2 (3 -> 3 across the views, shared by
    the channels) -> softmax over the views. Both layers without bias, initialised N(0, 0.01).
    """

    def __init__(self, channels: int, init_std: float = 0.01):
        super().__init__()
        self.channels = channels
        self.fc1 = nn.Linear(channels, channels, bias=False)
        self.fc2 = nn.Linear(3, 3, bias=False)
        nn.init.normal_(self.fc1.weight, std=init_std)
        nn.init.normal_(self.fc2.weight, std=init_std)

    def forward(self, hw: torch.Tensor, tw: torch.Tensor, th: torch.Tensor) -> torch.Tensor:
        pooled = torch.stack([v.amax(dim=(2, 3, 4)) for v in (hw, tw, th)], dim=1)  # (N, 3, C)
        z = self.fc1(pooled)  # (N, 3, C): the same C -> C map for each view
        z = self.fc2(z.transpose(1, 2)).transpose(1, 2)  # mixes the 3 views per channel
        return torch.softmax(z, dim=1)


@MODELS.register_module()
class CoSTb(_CoST):
    """CoST(b): coefficients predicted per sample by :class:`ViewAttention` from the three view responses."""

    def __init__(self, *args, attention_init_std: float = 0.01, **kwargs):
        super().__init__(*args, **kwargs)
        self.attention = ViewAttention(self.out_channels, attention_init_std)

    def coefficients(self, hw, tw, th) -> torch.Tensor:
        return self.attention(hw, tw, th)


def cost_extra_parameters(cost_type: str, out_channels: int) -> int:
    """Parameters a CoST layer adds to the C2D conv it replaces: 3 C_out (a) or C_out ** 2 + 9 (b)."""
    if cost_type == 'a':
        return 3 * out_channels
    if cost_type == 'b':
        return out_channels * out_channels + 9
    raise ValueError(f"invalid cost_type {cost_type!r}; valid: ('a', 'b')")


__all__ = ['CoSTa', 'CoSTb', 'ViewAttention', 'cost_views', 'cost_extra_parameters', 'VIEWS']

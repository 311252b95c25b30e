"""Dynamic convolution decomposition (DCD) layer.

Revisiting Dynamic Convolution via Matrix Decomposition, Li et al., ICLR 2021, arXiv:2103.08756.
Official code: https://github.com/liyunsheng13/dcd (``conv_dy`` / ``conv_basic_dy`` in
``models/imagenet/resnet_dcd.py`` and ``DYModule`` in ``models/imagenet/mobilenetv2_dcd.py``).

The kernel of a DCD conv depends on its input ``x`` (paper Eq. 6):

    W(x) = Lambda(x) W0 + P Phi(x) Q^T

- ``W0`` (C_out x C_in x k x k): the static kernel (``self.conv``);
- ``Lambda(x)`` (C_out x C_out, diagonal): dynamic channel-wise attention, ``relu6(a + 3) / 3`` in
  [0, 2] (1 when its logits are 0);
- ``Q`` (C_in -> L, ``self.q``) and ``P`` (L -> C_out, ``self.p``): static 1x1 projections into and
  out of a latent space of L << C channels; ``Phi(x)`` (L x L): the dynamic channel fusion, a full
  matrix predicted per sample.

As in the official code the residual lives at the centre tap of the k x k kernel (it is a 1x1 conv
with the same stride) and is applied in its decomposed form, with a BatchNorm after ``Q^T`` and after
``Phi`` and an identity path in the latent space:

    y = Lambda(x) (W0 * x) + P [ BN2(Phi(x) z) + z ],   z = BN1(Q^T x).

With BatchNorm in eval mode (affine maps ``z -> a1 z + c1``, ``v -> a2 v + c2``) this is one conv
with a per-sample kernel and bias (:meth:`DCDConv2d.dynamic_weight`):

    W(x) = Lambda(x) W0 + P (I + diag(a2) Phi(x)) diag(a1) Q^T   (at the centre tap),
    b(x) = P [(I + diag(a2) Phi(x)) c1 + c2],

i.e. the paper's form with the static part ``Lambda W0 + P diag(a1) Q^T`` and the dynamic residual
``P diag(a2) Phi(x) diag(a1) Q^T``. ``Lambda`` and ``Phi`` come from a small dynamic branch:
average pooling to ``pool_size x pool_size``, a bias-free linear layer to ``squeeze`` features that
gates itself (``y * hsig(W y)``, the official ``SEModule_small``), then two bias-free linear layers
to ``L * L`` (``Phi``) and ``C_out`` (``Lambda`` logits).

Every sample gets its own kernel without a loop over samples. In training (the official form) the
static conv and both projections are shared batched convs, ``Lambda`` is a broadcast product and
``Phi`` one batched matrix product (N, L, L) x (N, L, H'W'). In eval mode the BatchNorms are folded
and each layer takes the cheaper of two exact forms: the same decomposed form, or the N kernels
W(x_i) assembled (C_out x L x (L + C_in) multiply-adds each) and applied as one grouped conv.
Counting the cheaper form per layer reproduces the paper's MAdds (e.g. 326M for MobileNetV2 1.0x).
"""
import math
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import nn
from torch.nn.modules.utils import _pair


def hard_sigmoid_x2(x: torch.Tensor) -> torch.Tensor:
    """``relu6(x + 3) / 3``: the official code's ``Hsigmoid``, range [0, 2], value 1 at 0."""
    return F.relu6(x + 3.0) / 3.0


class HardSigmoidX2(nn.Module):
    """Module form of :func:`hard_sigmoid_x2`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return hard_sigmoid_x2(x)


class SelfGate(nn.Module):
    """``y * hard_sigmoid_x2(W y)`` with a bias-free square ``W`` (official ``SEModule_small``).

    Shapes: (N, C) -> (N, C).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, channels, bias=False), HardSigmoidX2())

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.fc(y)


class DCDConv2d(nn.Module):
    """Dynamic convolution decomposition: ``W(x) = Lambda(x) W0 + P Phi(x) Q^T`` (see module doc).

    Registered in mmengine's root ``MODELS`` as ``'DCD'``, where mmcv 2.x's
    ``build_conv_layer`` looks conv types up (from any default scope), so any conv built
    from a config can be made dynamic:
    ``build_conv_layer(dict(type='DCD'), c_in, c_out, 3, stride, 1, bias=False)``.

    Latent size L, pooled features F = C_in * pool_size**2 and squeeze width follow the
    official code:

    - ``latent_dim='sqrt'`` (ResNet, ``conv_dy``/``conv_basic_dy``): L = floor(sqrt(F)), i.e.
      sqrt(C_in) with ``pool_size=1`` (ResNet-50) and 2 sqrt(C_in) with ``pool_size=2``
      (ResNet-18's basic blocks);
    - ``latent_dim='halving'`` (MobileNetV2, ``DYModule``): L = min(F, C_out) // r with
      r = 2 * pool_size**2, doubled while L**2 > 2 F, and at least 4;
    - an int sets L directly.

    The squeeze width is ``max(4, max(F, L**2) // squeeze_ratio)``. Convs are initialised as
    the official code does (normal with std sqrt(2 / (k * k * C_out)), Kaiming fan-out), the
    linear layers of the branch with PyTorch's default (the official ResNet; its MobileNetV2
    re-initialises them with std 0.01, see :class:`DCDMobileNetV2`).

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        kernel_size (int | tuple[int, int]): Odd kernel size k (the residual sits at its centre).
        stride (int | tuple[int, int]): Stride of the conv and of the latent projection ``Q``.
        padding (int | tuple[int, int]): Must be "same" padding ``dilation * (k - 1) // 2`` so
            that the 1x1 residual is aligned with the centre tap.
        dilation (int | tuple[int, int]): Dilation of the static kernel.
        groups (int): Only 1: the paper makes dense convs dynamic (depthwise convs stay static).
        bias (bool): Add a static bias to the output (the backbones use ``bias=False``).
        latent_dim (str | int): ``'sqrt'``, ``'halving'`` or L.
        pool_size (int | str): Output size of the branch's average pooling (1 or 2 in the paper);
            ``'auto'``: 2 if C_in < C_out else 1 (the official MobileNetV2 rule).
        squeeze_ratio (int): Divisor of the squeeze width (16 in ResNet and in MobileNetV2 1.0x).
        eval_form (str, optional): Form of the eval-mode forward (:meth:`forward_eval`): None picks
            the one with fewer multiply-adds for each input size (the paper's count; also the
            faster one for small batches), ``'decomposed'`` is the faster one on CPU for large
            batches (grouped convs with hundreds of groups are slow there), ``'assembled'``.

    Shapes: (N, C_in, H, W) -> (N, C_out, H', W') as ``nn.Conv2d`` with the same arguments.
    """

    latent_rules = ('sqrt', 'halving')
    eval_forms = (None, 'assembled', 'decomposed')
    min_squeeze = 4
    min_halving_latent = 4

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Union[int, Tuple[int, int]],
                 stride: Union[int, Tuple[int, int]] = 1, padding: Union[int, Tuple[int, int]] = 0,
                 dilation: Union[int, Tuple[int, int]] = 1, groups: int = 1, bias: bool = False,
                 latent_dim: Union[str, int] = 'sqrt', pool_size: Union[int, str] = 1, squeeze_ratio: int = 16,
                 eval_form: Optional[str] = None):
        super().__init__()
        if pool_size == 'auto' and isinstance(in_channels, int) and isinstance(out_channels, int):
            pool_size = 2 if in_channels < out_channels else 1
        for name, value in (('in_channels', in_channels), ('out_channels', out_channels),
                            ('pool_size', pool_size), ('squeeze_ratio', squeeze_ratio)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                choices = "a positive int or 'auto'" if name == 'pool_size' else 'a positive int'
                raise ValueError(f'{name} must be {choices}, got {value!r}')
        kernel_size, stride, padding, dilation = map(_pair, (kernel_size, stride, padding, dilation))
        if any(k % 2 == 0 for k in kernel_size):
            raise ValueError(f'DCD needs an odd kernel_size (the dynamic residual sits at the centre tap), '
                             f'got {kernel_size}')
        same = tuple(d * (k - 1) // 2 for k, d in zip(kernel_size, dilation))
        if padding != same:
            raise ValueError(f'DCD needs "same" padding dilation * (kernel_size - 1) // 2 = {same} so that the '
                             f'1x1 residual lines up with the centre tap, got padding {padding}')
        if groups != 1:
            raise ValueError(f'DCD supports groups=1 only (dense convs; the paper keeps depthwise convs '
                             f'static), got groups={groups}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        if eval_form not in self.eval_forms:
            raise ValueError(f'invalid eval_form {eval_form!r}; valid: {", ".join(map(repr, self.eval_forms))}')
        self.groups, self.pool_size, self.eval_form = 1, pool_size, eval_form
        features = in_channels * pool_size ** 2
        self.latent_dim = self._latent_dim(latent_dim, features, pool_size, out_channels)
        self.squeeze = max(self.min_squeeze, max(features, self.latent_dim ** 2) // squeeze_ratio)

        L = self.latent_dim
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, bias=False)
        self.q = nn.Conv2d(in_channels, L, 1, stride, 0, bias=False)
        self.p = nn.Conv2d(L, out_channels, 1, 1, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(L)
        self.bn2 = nn.BatchNorm1d(L)
        self.fc = nn.Sequential(nn.Linear(features, self.squeeze, bias=False), SelfGate(self.squeeze))
        self.fc_phi = nn.Linear(self.squeeze, L * L, bias=False)
        self.fc_scale = nn.Linear(self.squeeze, out_channels, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        for m in (self.conv, self.q, self.p):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    @classmethod
    def _latent_dim(cls, rule, features, pool_size, out_channels):
        if isinstance(rule, int) and not isinstance(rule, bool):
            if rule <= 0:
                raise ValueError(f'latent_dim must be positive, got {rule}')
            return rule
        if rule == 'sqrt':
            return max(1, math.isqrt(features))
        if rule == 'halving':
            reduction = 2 * pool_size ** 2
            dim = min(features, out_channels) // reduction
            while dim ** 2 > 2 * features:
                reduction *= 2
                dim = min(features, out_channels) // reduction
            return max(dim, cls.min_halving_latent)
        raise ValueError(f'invalid latent_dim {rule!r} for DCD; valid: a positive int or one of '
                         f'{", ".join(map(repr, cls.latent_rules))}')

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, '
                f'padding={self.padding}, latent_dim={self.latent_dim}, pool_size={self.pool_size}, '
                f'squeeze={self.squeeze}')

    def _check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'DCDConv2d expects input (N, {self.in_channels}, H, W), got {tuple(x.shape)}')

    def attention(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The dynamic branch: x (N, C_in, H, W) -> Lambda (N, C_out), Phi (N, L, L)."""
        self._check_input(x)
        y = self.fc(F.adaptive_avg_pool2d(x, self.pool_size).flatten(1))
        phi = self.fc_phi(y).view(-1, self.latent_dim, self.latent_dim)
        return hard_sigmoid_x2(self.fc_scale(y)), phi

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, C_in, H, W) -> (N, C_out, H', W'), each sample with its own kernel W(x_i).

        Training uses the official decomposed form (:meth:`forward_decomposed`, BatchNorms on
        batch statistics). Eval mode uses :meth:`forward_eval`: the same function with the
        BatchNorms folded, in whichever of the two exact forms is cheaper for this input size.
        """
        if self.training:
            return self.forward_decomposed(x)
        return self.forward_eval(x, self.eval_form)

    def forward_decomposed(self, x: torch.Tensor) -> torch.Tensor:
        """``Lambda (W0 * x) + P [BN2(Phi z) + z]`` with ``z = BN1(Q^T x)`` (the official form)."""
        lam, phi = self.attention(x)
        out = self.conv(x) * lam[:, :, None, None]
        z = self.bn1(self.q(x))
        n, L, h, w = z.shape
        z = z.reshape(n, L, h * w)
        z = self.bn2(torch.bmm(phi, z)) + z
        out = out + self.p(z.reshape(n, L, h, w))
        if self.bias is not None:
            out = out + self.bias[None, :, None, None]
        return out

    @staticmethod
    def _bn_affine(bn: nn.modules.batchnorm._BatchNorm) -> Tuple[torch.Tensor, torch.Tensor]:
        """Eval-mode BatchNorm as ``v -> a * v + c`` per channel."""
        a = torch.rsqrt(bn.running_var + bn.eps)
        if bn.affine:
            a = a * bn.weight
        c = -bn.running_mean * a
        if bn.affine:
            c = c + bn.bias
        return a, c

    def _folded_terms(self, x: torch.Tensor):
        """Eval-mode factors: Lambda (N, C_out), I + diag(a2) Phi (N, L, L), P (C_out, L),
        diag(a1) Q^T (L, C_in), c1 (L,), c2 (L,)."""
        if self.training:
            raise RuntimeError('the folded (per-sample conv) form needs eval mode: in training the BatchNorms '
                               'use batch statistics; call .eval() first or use forward_decomposed')
        lam, phi = self.attention(x)
        a1, c1 = self._bn_affine(self.bn1)
        a2, c2 = self._bn_affine(self.bn2)
        fusion = torch.eye(self.latent_dim, dtype=phi.dtype, device=phi.device) + a2[:, None] * phi
        return lam, fusion, self.p.weight[:, :, 0, 0], a1[:, None] * self.q.weight[:, :, 0, 0], c1, c2

    def dynamic_weight(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The per-sample kernel and bias of the layer (eval mode only).

        Returns:
            tuple: ``weight`` (N, C_out, C_in, kh, kw) = ``Lambda W0 + P (I + diag(a2) Phi) diag(a1) Q^T``
            (residual at the centre tap) and ``bias`` (N, C_out) = ``P [(I + diag(a2) Phi) c1 + c2]``,
            so that in eval mode ``forward(x)[i] == conv2d(x[i:i+1], weight[i], bias[i], stride, padding,
            dilation)``.
        """
        lam, fusion, p, q, c1, c2 = self._folded_terms(x)
        weight = lam[:, :, None, None, None] * self.conv.weight[None]
        ch, cw = self.kernel_size[0] // 2, self.kernel_size[1] // 2
        weight[:, :, :, ch, cw] += p @ fusion @ q
        bias = (p @ (fusion @ c1[:, None] + c2[:, None]))[..., 0]
        if self.bias is not None:
            bias = bias + self.bias
        return weight, bias

    def output_size(self, h: int, w: int) -> Tuple[int, int]:
        """Spatial size (H', W') of the output for an (H, W) input ("same" padding)."""
        return (h - 1) // self.stride[0] + 1, (w - 1) // self.stride[1] + 1

    def extra_macs(self, h: int, w: int) -> dict:
        """Multiply-adds per sample of the two exact eval forms on top of the static conv.

        ``'decomposed'``: Q^T, Phi and P on the output grid, ``(C_in L + L^2 + L C_out) H'W'``;
        ``'assembled'``: building W(x), ``C_out L (L + C_in)`` (independent of the image size).
        """
        L, ho_wo = self.latent_dim, math.prod(self.output_size(h, w))
        return dict(decomposed=(self.in_channels * L + L * L + L * self.out_channels) * ho_wo,
                    assembled=self.out_channels * L * (L + self.in_channels))

    def forward_eval(self, x: torch.Tensor, form: Optional[str] = None) -> torch.Tensor:
        """Eval-mode output with the BatchNorms folded (no batch statistics).

        Args:
            x (Tensor): (N, C_in, H, W).
            form (str, optional): ``'assembled'`` (the N kernels of :meth:`dynamic_weight` as one
                grouped conv, groups = N), ``'decomposed'`` (static conv scaled by Lambda plus
                ``P (fusion (Q' x + c1) + c2)`` with one batched matrix product), or None for the
                cheaper of the two (:meth:`extra_macs`), which is how the paper counts MAdds.

        Returns:
            Tensor: (N, C_out, H', W'), equal for both forms.
        """
        if form is None:
            macs = self.extra_macs(*x.shape[-2:])
            form = 'assembled' if macs['assembled'] <= macs['decomposed'] else 'decomposed'
        if form == 'assembled':
            weight, bias = self.dynamic_weight(x)
            n, _, h, w = x.shape
            out = F.conv2d(x.reshape(1, n * self.in_channels, h, w), weight.flatten(0, 1), bias.flatten(),
                           self.stride, self.padding, self.dilation, groups=n)
            return out.reshape(n, self.out_channels, *out.shape[-2:])
        if form != 'decomposed':
            raise ValueError(f"invalid form {form!r}; valid: 'assembled', 'decomposed', None (fewer MACs)")
        lam, fusion, p, q, c1, c2 = self._folded_terms(x)
        z = F.conv2d(x, q[:, :, None, None], c1, self.stride)
        n, L, h, w = z.shape
        z = torch.bmm(fusion, z.reshape(n, L, h * w)) + c2[None, :, None]
        out = self.conv(x) * lam[:, :, None, None] + F.conv2d(z.reshape(n, L, h, w), p[:, :, None, None])
        if self.bias is not None:
            out = out + self.bias[None, :, None, None]
        return out

    @torch.no_grad()
    def fold_bn(self, bn: nn.modules.batchnorm._BatchNorm) -> None:
        """Fold an eval-mode BatchNorm that follows this layer into it, in place (inference only).

        ``a * y + c`` with ``y = Lambda W0 x + P (...) + b`` equals the layer with ``a W0``,
        ``a P`` and bias ``a b + c`` (Lambda is per output channel, so it commutes with ``a``).
        """
        if not isinstance(bn, nn.modules.batchnorm._BatchNorm) or bn.num_features != self.out_channels:
            raise ValueError(f'can only fold a BatchNorm of {self.out_channels} features, got {bn!r}')
        a, c = self._bn_affine(bn)
        self.conv.weight.mul_(a[:, None, None, None])
        self.p.weight.mul_(a[:, None, None, None])
        bias = c if self.bias is None else a * self.bias + c
        self.bias = nn.Parameter(bias.detach().clone(), requires_grad=self.conv.weight.requires_grad)


MMENGINE_MODELS.register_module('DCD', module=DCDConv2d)

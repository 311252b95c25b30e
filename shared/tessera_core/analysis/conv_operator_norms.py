"""Exact l1 and l-infinity operator norms of 2-D convolutional and linear layers.

Paper: "Large Norms of CNN Layers Do Not Hurt Adversarial Robustness", Youwei Liang and Dong Huang,
AAAI 2021, arXiv:2009.08435. Official code: https://github.com/youweiliang/norm_robustness
(``lip/add_lip.py`` computes the norms, ``lip/partition_kernel.py`` the kernel-index classes).

A conv layer with kernel ``K`` of shape (C_out, C_in / groups, k_h, k_w), stride ``s``, zero padding
``p`` and dilation ``d`` applied to a C_in x H x W input is the linear map ``x -> M x`` with ``M`` of
shape (C_out * H_out * W_out, C_in * H * W). Its operator norms are

- ``||M||_1``   = the largest absolute column sum; a column is one input pixel of one input channel
  ``i`` and holds ``K[j, i, a, b]`` for every output channel ``j`` and every kernel position
  ``(a, b)`` that some output pixel lays on that input pixel;
- ``||M||_inf`` = the largest absolute row sum; a row is one output pixel of one output channel
  ``j`` and holds ``K[j, i, a, b]`` for every input channel ``i`` and every kernel position whose
  input pixel lies inside the image (not in the zero padding).

Both separate over the two spatial axes: along an axis of length n the kernel indices that touch
input pixel x (resp. that output pixel o reads inside the image) form a set; a 2-D set is a product
of one set per axis. This module enumerates those sets for a given input size (exact for every
size, stride, padding and dilation) and maximises ``sum |K|`` over them.

The paper's theorem is the large-input form of the same statement (what ``input_size=None`` gives):

- ``||M||_inf = max_j sum_{i,a,b} |K[j, i, a, b]|``: some output pixel has its whole receptive
  field inside the image, and no row can hold more entries than that;
- ``||M||_1 = max_i max_{(r, t)} sum_j sum_{a*d = r, b*d = t (mod s)} |K[j, i, a, b]|``: output pixels
  step by ``s`` input pixels, so an interior input pixel is touched by exactly the kernel positions
  whose offset ``a * d`` is congruent to it modulo the stride -- the kernel splits into (at most)
  ``s_h * s_w`` classes of positions, and the l1 norm is the largest class-sum over output channels.
  With stride 1 there is one class: ``||M||_1 = max_i sum_{j,a,b} |K[j, i, a, b]|``.

Padding and small inputs only remove kernel positions from these sets (pixels near the border are
touched by fewer positions; output pixels over the padding read fewer), so the large-input values
are exact once the input is large enough for every class to occur at an interior pixel. The
official code also derives its classes from the recorded input size (``partition_kernel.py``) and
skips layers failing ``k + ceil(p / s) * s - p <= n``; :func:`kernel_index_sets` enumerates the sets
for any size instead. For a fully connected layer ``x -> W x`` the norms are the
largest absolute column sum (l1) and row sum (l-inf) of ``W``.

All norms are computed with differentiable torch operations, so ``autograd`` of a norm is its
subgradient (``sign(K)`` on the maximising column/row, 0 elsewhere) -- what norm decay follows.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ('l1', 'linf')

IntPair = Union[int, Sequence[int]]
Padding = Union[int, str, Sequence[int]]


def _check_norm(norm: str) -> None:
    if norm not in NORMS:
        raise ValueError(f'unknown operator norm {norm!r}; valid: {NORMS}')


def _pair(value, name: str) -> Tuple[int, int]:
    if isinstance(value, int):
        value = (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f'{name} must be an int or a pair of ints, got {value!r}')
    return value


def resolve_padding(padding: Padding, kernel_size: Tuple[int, int],
                    dilation: Tuple[int, int]) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    """Per-axis zero padding ``((top, bottom), (left, right))`` of a conv.

    Args:
        padding: an int, a pair ``(p_h, p_w)`` (symmetric), or ``'valid'`` / ``'same'`` as in
            ``nn.Conv2d`` ('same' pads ``d * (k - 1)`` in total, the extra pixel after, like torch).
        kernel_size: ``(k_h, k_w)``.
        dilation: ``(d_h, d_w)``.
    """
    if isinstance(padding, str):
        if padding == 'valid':
            return (0, 0), (0, 0)
        if padding == 'same':
            totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"unknown padding {padding!r}; valid: an int, a pair of ints, 'valid', 'same'")
    p_h, p_w = _pair(padding, 'padding')
    if p_h < 0 or p_w < 0:
        raise ValueError(f'padding must be >= 0, got {padding!r}')
    return (p_h, p_h), (p_w, p_w)


def kernel_index_sets(size: Optional[int], kernel_size: int, stride: int = 1,
                      pad: Tuple[int, int] = (0, 0), dilation: int = 1) -> Tuple[torch.Tensor, torch.Tensor]:
    """Kernel indices along one axis that meet in a column and in a row of the conv matrix.

    Args:
        size: Input length n along the axis, or None for the paper's large-input form.
        kernel_size: k.
        stride: s.
        pad: Zero padding ``(before, after)``.
        dilation: d.

    Returns:
        ``(column_sets, row_sets)``, bool tensors of shapes (m_c, k) and (m_r, k), duplicates removed.
        Row ``x`` of ``column_sets`` marks the kernel indices ``a`` that some output position lays on
        input pixel x (``o * s + a * d - before == x``); row ``o`` of ``row_sets`` marks the indices
        output position o reads inside the input. With ``size=None`` the column sets are the
        residue classes of ``a * d`` modulo ``s`` and the single row set is every index.
    """
    k, s, d = kernel_size, stride, dilation
    if k < 1 or s < 1 or d < 1:
        raise ValueError(f'kernel_size, stride and dilation must be >= 1, got {k}, {s}, {d}')
    a = torch.arange(k)
    if size is None:
        residues = (a * d) % s
        cols = residues[None, :] == residues.unique()[:, None]
        return cols, torch.ones(1, k, dtype=torch.bool)
    before, after = pad
    span = d * (k - 1) + 1
    if size < 1 or size + before + after < span:
        raise ValueError(f'input length {size} with padding {pad} is shorter than the dilated kernel ({span})')
    n_out = (size + before + after - span) // s + 1
    coord = torch.arange(n_out)[:, None] * s + a[None, :] * d - before  # (n_out, k) input pixel read
    inside = (coord >= 0) & (coord < size)
    cols = ((coord[None] == torch.arange(size)[:, None, None]) & inside[None]).any(dim=1)  # (n, k)
    return cols.unique(dim=0), inside.unique(dim=0)


def conv2d_operator_norm(weight: torch.Tensor, norm: str = 'l1', stride: IntPair = 1, padding: Padding = 0,
                         dilation: IntPair = 1, groups: int = 1,
                         input_size: Optional[IntPair] = None) -> torch.Tensor:
    """The l1 or l-infinity operator norm of a zero-padded 2-D convolution (bias excluded).

    Args:
        weight: Kernel (C_out, C_in / groups, k_h, k_w).
        norm: ``'l1'`` or ``'linf'``.
        stride, padding, dilation, groups: As in ``torch.nn.functional.conv2d`` (``padding`` may also
            be ``'valid'`` / ``'same'``).
        input_size: ``(H, W)`` (or an int) of the input; None gives the paper's large-input closed form.

    Returns:
        A scalar tensor, differentiable w.r.t. ``weight``.
    """
    _check_norm(norm)
    if weight.dim() != 4:
        raise ValueError(f'conv weight must have shape (C_out, C_in/groups, k_h, k_w), got {tuple(weight.shape)}')
    c_out, c_in_g, k_h, k_w = weight.shape
    if groups < 1 or c_out % groups:
        raise ValueError(f'groups={groups} must be >= 1 and divide C_out={c_out}')
    stride, dilation = _pair(stride, 'stride'), _pair(dilation, 'dilation')
    pads = resolve_padding(padding, (k_h, k_w), dilation)
    sizes = (None, None) if input_size is None else _pair(input_size, 'input_size')
    sets = [kernel_index_sets(n, k, s, p, d)
            for n, k, s, p, d in zip(sizes, (k_h, k_w), stride, pads, dilation)]
    absw = weight.abs()
    if norm == 'l1':
        # columns: input channel i of group g meets the C_out / groups output channels of g
        per_input = absw.reshape(groups, c_out // groups, c_in_g, k_h, k_w).sum(dim=1).reshape(-1, k_h, k_w)
        mask_h, mask_w = sets[0][0], sets[1][0]
    else:
        per_input = absw.sum(dim=1)  # rows: output channel j over its C_in / groups inputs
        mask_h, mask_w = sets[0][1], sets[1][1]
    mask_h, mask_w = mask_h.to(weight), mask_w.to(weight)
    sums = torch.einsum('cab,pa,qb->cpq', per_input, mask_h, mask_w)
    return sums.amax()


def linear_operator_norm(weight: torch.Tensor, norm: str = 'l1') -> torch.Tensor:
    """l1 (largest absolute column sum) or l-infinity (largest absolute row sum) norm of a
    fully connected layer's weight (out_features, in_features)."""
    _check_norm(norm)
    if weight.dim() != 2:
        raise ValueError(f'linear weight must have shape (out_features, in_features), got {tuple(weight.shape)}')
    return weight.abs().sum(dim=0 if norm == 'l1' else 1).amax()


def module_operator_norm(module: nn.Module, norm: str = 'l1', input_size: Optional[IntPair] = None,
                         weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Operator norm of an ``nn.Conv2d`` (zero padding) or ``nn.Linear``.

    Args:
        module: The layer.
        norm: ``'l1'`` or ``'linf'``.
        input_size: ``(H, W)`` of the conv's input; None gives the large-input closed form.
        weight: Use this tensor instead of ``module.weight`` (same shape), e.g. a detached copy.
    """
    w = module.weight if weight is None else weight
    if isinstance(module, nn.Conv2d):
        if module.padding_mode != 'zeros':
            raise ValueError(f"padding_mode {module.padding_mode!r} is not a zero-padded convolution; "
                             "valid: 'zeros'")
        return conv2d_operator_norm(w, norm, module.stride, module.padding, module.dilation, module.groups,
                                    input_size)
    if isinstance(module, nn.Linear):
        return linear_operator_norm(w, norm)
    raise TypeError(f'operator norms are defined here for nn.Conv2d and nn.Linear, got {type(module).__name__}')


def conv2d_explicit_matrix(weight: torch.Tensor, input_size: IntPair, stride: IntPair = 1, padding: Padding = 0,
                           dilation: IntPair = 1, groups: int = 1) -> torch.Tensor:
    """Brute-force reference: the conv's matrix, built by convolving every basis image.

    Column ``i * H * W + y * W + x`` is the conv of the image with a single 1 at channel i, pixel
    (y, x). Memory is (C_in H W)^2 * C_out H_out W_out / (H W): for small layers only.

    Returns:
        ``M`` of shape (C_out * H_out * W_out, C_in * H * W).
    """
    h, w = _pair(input_size, 'input_size')
    c_in = weight.shape[1] * groups
    n = c_in * h * w
    basis = torch.eye(n, dtype=weight.dtype, device=weight.device).reshape(n, c_in, h, w)
    (top, bottom), (left, right) = resolve_padding(padding, tuple(weight.shape[-2:]), _pair(dilation, 'dilation'))
    out = F.conv2d(F.pad(basis, (left, right, top, bottom)), weight, None, stride, 0, dilation, groups)
    return out.reshape(n, -1).t()


def matrix_operator_norm(matrix: torch.Tensor, norm: str = 'l1') -> torch.Tensor:
    """``torch.linalg.matrix_norm`` with ord 1 (l1) or inf (l-infinity)."""
    _check_norm(norm)
    return torch.linalg.matrix_norm(matrix, ord=1 if norm == 'l1' else math.inf)

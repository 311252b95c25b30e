"""Random patch masking (MAE, He et al., arXiv:2111.06377) and SdAE's multi-fold split of the masked patches.

``random_masking``: per sample, the ``L`` patches are shuffled by ``argsort`` of uniform noise; the first
``len_keep = int(L * (1 - mask_ratio))`` of the shuffle are kept (visible), the remaining
``L - len_keep`` are masked. ``ids_restore = argsort(ids_shuffle)`` undoes the shuffle, and
``mask`` (N, L) is 1 on masked patches, 0 on visible ones, in the original patch order.

``multi_fold_split`` (SdAE, Chen et al., ECCV 2022, official code ``engine_pretrain.py``): the first
``num_masked_used`` masked patches of the shuffle (all of them by default), cut down to a multiple of
``num_folds``, are split into ``num_folds`` consecutive groups of equal size. As the shuffle is random,
the folds are disjoint random subsets of the masked patches that together cover the chosen ones.
"""
from typing import Optional, Tuple

import torch


def check_mask_ratio(mask_ratio: float, num_patches: Optional[int] = None) -> float:
    """Refuse a mask ratio outside the open interval (0, 1), or one that keeps no / all patches."""
    if not isinstance(mask_ratio, (int, float)) or not 0.0 < float(mask_ratio) < 1.0:
        raise ValueError(f'mask_ratio must lie in the open interval (0, 1), got {mask_ratio!r}')
    if num_patches is not None:
        keep = int(num_patches * (1 - mask_ratio))
        if keep < 1 or keep >= num_patches:
            raise ValueError(f'mask_ratio={mask_ratio} keeps {keep} of {num_patches} patches; it must keep at '
                             f'least one and mask at least one')
    return float(mask_ratio)


def random_masking(x: torch.Tensor, mask_ratio: float, generator: Optional[torch.Generator] = None
                   ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep a random ``1 - mask_ratio`` share of each sample's tokens.

    Args:
        x (Tensor): (N, L, D) patch tokens.
        mask_ratio (float): Share of masked tokens, in (0, 1).
        generator (torch.Generator, optional): Source of the shuffling noise.

    Returns:
        tuple: ``x_visible`` (N, len_keep, D), ``mask`` (N, L) (1 = masked), ``ids_restore`` (N, L),
        ``ids_shuffle`` (N, L) (its first ``len_keep`` entries are the visible patches, the rest the
        masked ones, in random order).
    """
    n, length, d = x.shape
    check_mask_ratio(mask_ratio, length)
    len_keep = int(length * (1 - mask_ratio))
    noise = torch.rand(n, length, device=x.device, generator=generator)
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :len_keep]
    x_visible = torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, d))
    mask = torch.ones(n, length, device=x.device)
    mask[:, :len_keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    return x_visible, mask, ids_restore, ids_shuffle


def multi_fold_split(ids_masked: torch.Tensor, num_folds: int, num_masked_used: Optional[int] = None
                     ) -> torch.Tensor:
    """Split each sample's masked patch ids into ``num_folds`` disjoint folds.

    Args:
        ids_masked (Tensor): (N, M) ids of the masked patches in shuffle order (``ids_shuffle[:, len_keep:]``).
        num_folds (int): Folds (SdAE's ``ncrop_loss``; 3 in the paper).
        num_masked_used (int, optional): Masked patches given to the teacher (SdAE's ``shrink_num``;
            default all ``M``); cut down to a multiple of ``num_folds``.

    Returns:
        Tensor: (N, num_folds, k) patch ids, ``k = num_masked_used // num_folds``.
    """
    n, m = ids_masked.shape
    if not isinstance(num_folds, int) or num_folds < 1:
        raise ValueError(f'num_folds must be a positive int, got {num_folds!r}')
    used = m if num_masked_used is None else num_masked_used
    if not 0 < used <= m:
        raise ValueError(f'num_masked_used must be in [1, {m}] (the masked patches), got {used}')
    k = used // num_folds
    if k < 1:
        raise ValueError(f'{used} masked patches cannot be split into num_folds={num_folds} folds')
    return ids_masked[:, :k * num_folds].reshape(n, num_folds, k)

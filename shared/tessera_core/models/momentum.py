"""Momentum-contrast state: the EMA of a key encoder and the FIFO queue of keys (MoCo and its followers).

Momentum Contrast for Unsupervised Visual Representation Learning, He, Fan, Wu, Xie and Girshick, CVPR 2020,
arXiv:1911.05722 (eq. 2 and section 3.2 "dictionary as a queue"; official ``moco/builder.py``
``_momentum_update_key_encoder`` and ``_dequeue_and_enqueue``). Used by MoCo v2 and SEED/BINGO
(tessera-compression), RSPNet (tessera-video) and AutoMix (core).

Both are plain functions on tensors the caller owns (``nn.Parameter`` iterators, registered buffers), so a model
keeps its own buffer names and its checkpoints' ``state_dict`` keys.
"""
from typing import Iterable

import torch
from mmengine.dist import all_gather, get_world_size

__all__ = ['momentum_update_', 'enqueue_ring_']


@torch.no_grad()
def momentum_update_(target_params: Iterable[torch.Tensor], source_params: Iterable[torch.Tensor],
                     momentum: float) -> None:
    """In place, without gradient: ``theta_k <- m * theta_k + (1 - m) * theta_q`` (MoCo eq. 2).

    Pass parameters only (e.g. ``key_encoder.parameters()``, ``query_encoder.parameters()``): buffers such as
    BatchNorm running statistics are not averaged, as in the official code.

    Args:
        target_params (iterable of Tensor): ``theta_k``, updated in place; the i-th has the i-th source's shape.
        source_params (iterable of Tensor): ``theta_q``, read only (detached).
        momentum (float): ``m`` in [0, 1]; 1 leaves the targets unchanged, 0 copies the sources.

    Raises:
        ValueError: ``momentum`` outside [0, 1], or the two iterables differ in length or in a shape.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f'momentum must lie in [0, 1], got {momentum}')
    targets, sources = list(target_params), list(source_params)
    if len(targets) != len(sources):
        raise ValueError(f'momentum_update_: {len(targets)} target parameters but {len(sources)} source parameters')
    for i, (p_k, p_q) in enumerate(zip(targets, sources)):
        if p_k.shape != p_q.shape:
            raise ValueError(f'momentum_update_: parameter {i} has shape {tuple(p_k.shape)} in the target but '
                             f'{tuple(p_q.shape)} in the source')
        p_k.mul_(momentum).add_(p_q.detach(), alpha=1.0 - momentum)


@torch.no_grad()
def enqueue_ring_(queue: torch.Tensor, ptr: torch.Tensor, keys: torch.Tensor) -> None:
    """Write ``keys`` over the oldest rows of a ring buffer and advance its pointer, in place, without gradient.

    With several processes the keys are first gathered from all of them (process order), as the official
    ``_dequeue_and_enqueue``. Rows ``ptr, ptr + 1, ... (mod K)`` receive the ``B`` keys, so after any sequence of
    batches the queue holds the last ``K`` keys written, the oldest first from ``ptr`` on. Unlike the official
    code, ``K`` need not be a multiple of ``B`` (the write wraps around).

    Args:
        queue (Tensor): (K, D) buffer, overwritten in place (keys are cast to its dtype).
        ptr (Tensor): () integer buffer, the row the next write starts at; set to ``(ptr + B) mod K``.
        keys (Tensor): (B, D) keys of this process (detached).

    Raises:
        ValueError: ``B`` (after gathering) is larger than ``K``.
    """
    keys = keys.detach()
    if get_world_size() > 1:
        keys = torch.cat(all_gather(keys.contiguous()), dim=0)
    b, length = keys.size(0), queue.size(0)
    if b > length:
        raise ValueError(f'a batch of {b} keys does not fit a queue of {length}')
    start = int(ptr)
    idx = (start + torch.arange(b, device=queue.device)) % length
    queue[idx] = keys.to(device=queue.device, dtype=queue.dtype)
    ptr.fill_((start + b) % length)

"""A FIFO queue of L2-normalised embeddings (ring buffer), as MoCo keeps its negative keys.

Momentum Contrast, He et al., CVPR 2020, arXiv:1911.05722 (section 3.2, "dictionary as a queue");
SEED (arXiv:2101.04731) and BINGO (arXiv:2107.01691) keep the *teacher's* embeddings of past
batches in the same kind of queue. ``enqueue(x)`` writes the ``B`` rows of ``x`` (gathered over
processes) over the ``B`` oldest rows, so after any sequence of batches the queue holds the last
``K`` embeddings written, the oldest first from ``ptr`` on.
"""
import torch
import torch.nn.functional as F
from torch import nn

from tessera_core.models import enqueue_ring_

__all__ = ['EmbeddingQueue']


class EmbeddingQueue(nn.Module):
    """Args:
        length (int): ``K``, the number of rows kept.
        dim (int): Embedding width.

    Buffers (saved in checkpoints): ``queue`` (K, dim), initialised with random unit rows as in MoCo;
    ``ptr`` (), the row the next enqueue starts at.
    """

    def __init__(self, length: int, dim: int):
        super().__init__()
        if length < 1 or dim < 1:
            raise ValueError(f'queue length and dim must be >= 1, got length={length}, dim={dim}')
        self.length, self.dim = int(length), int(dim)
        self.register_buffer('queue', F.normalize(torch.randn(self.length, self.dim), dim=1))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, x: torch.Tensor) -> None:
        """Overwrite the ``B`` oldest rows with ``x`` (B, dim), detached; FIFO with wrap-around (core's ring buffer)."""
        if x.dim() != 2 or x.size(1) != self.dim:
            raise ValueError(f'enqueue expects (B, {self.dim}) embeddings, got {tuple(x.shape)}')
        enqueue_ring_(self.queue, self.ptr, x)

    def get(self) -> torch.Tensor:
        """The queue's rows (K, dim), detached (a copy: later enqueues do not change it)."""
        return self.queue.clone().detach()

    def extra_repr(self) -> str:
        return f'length={self.length}, dim={self.dim}'

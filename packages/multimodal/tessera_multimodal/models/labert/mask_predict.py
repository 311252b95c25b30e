"""Length-Controllable Image Captioning (LaBERT), Deng et al., ECCV 2020, arXiv:2007.09580.
Official repository: https://github.com/bearcatt/LaBERT (``inference.py``); the schedule is
Mask-Predict's (Ghazvininejad et al., EMNLP 2019, arXiv:1904.09324).

Mask-predict decoding at a fixed length ``L`` with ``T`` steps (``T`` forward passes):

1. all ``L`` positions [MASK]; predict every position: token = argmax, confidence = its
   probability;
2. for ``t = 1 .. T-1``: re-mask the ``n_t = max(1, int(L * (1 - t / T)))`` positions of
   lowest confidence, predict again, write the new tokens and probabilities at the
   re-masked positions; then, as the official code, every confidence becomes the mean of
   its old value and the probability of the newly predicted token at that position.

The official code also scales the [EOS] probability at positions ``>= low - 1`` by a
per-level ``eos_decay`` (1.0, 0.88, 0.95, 1.0 on COCO) before taking the argmax.

Shapes: ``predict(ids (B, L)) -> probs (B, L, V)``; returns ids (B, L).
"""
from typing import Callable, List, Optional

import torch


def num_remask(length: int, step: int, steps: int) -> int:
    """Positions re-masked before refinement pass ``step`` (1 .. steps-1): linear decay."""
    return max(1, int(length * (1.0 - step / steps)))


def mask_predict(predict: Callable[[torch.Tensor], torch.Tensor], batch_size: int, length: int, steps: int,
                 mask_id: int, device=None, eos_id: Optional[int] = None, eos_from: Optional[int] = None,
                 eos_decay: float = 1.0, history: Optional[List[torch.Tensor]] = None) -> torch.Tensor:
    """Decode ``batch_size`` sequences of exactly ``length`` tokens in ``steps`` passes.

    Args:
        predict: ids (B, L) -> probabilities (B, L, V).
        steps (int): Number of forward passes T >= 1.
        eos_id, eos_from, eos_decay: multiply ``P(eos)`` at positions ``>= eos_from`` by
            ``eos_decay`` (official per-level EOS penalty; 1.0 disables it).
        history (list, optional): if given, receives the (B, L) bool re-mask of every
            refinement step (for inspection/tests).
    """
    if steps < 1:
        raise ValueError(f'mask-predict needs steps >= 1, got {steps}')

    def probs_of(ids):
        p = predict(ids)
        if eos_id is not None and eos_decay != 1.0 and eos_from is not None:
            p = p.clone()
            p[:, eos_from:, eos_id] *= eos_decay
        return p.max(-1)

    ids = torch.full((batch_size, length), mask_id, dtype=torch.long, device=device)
    conf, ids = probs_of(ids)
    for step in range(1, steps):
        n = num_remask(length, step, steps)
        idx = conf.topk(n, dim=-1, largest=False).indices
        remask = torch.zeros_like(ids, dtype=torch.bool).scatter_(1, idx, True)
        if history is not None:
            history.append(remask.clone())
        ids = ids.masked_fill(remask, mask_id)
        new_conf, new_ids = probs_of(ids)
        ids = torch.where(remask, new_ids, ids)
        conf = torch.where(remask, new_conf, conf)
        conf = (conf + new_conf) / 2
    return ids

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

The official code also scales the [EOS] probability at positions ``low - 1 .. high - 1`` by a
per-level penalty before taking the argmax (``inference.py``: ``eos_penalizer``): with
``d = eos_decay`` (1.0, 0.88, 0.95, 1.0 on COCO) and ``n = high - low + 1`` penalised positions,
position ``low - 1 + j`` gets the factor ``d ** (n - j)`` (``ones(n) * d``, cumulative product,
flipped): strongest at the first position of the bin, ``d`` at the last (:func:`eos_penalty`).

Shapes: ``predict(ids (B, L)) -> probs (B, L, V)``; returns ids (B, L).
"""
from typing import Callable, List, Optional

import torch


def num_remask(length: int, step: int, steps: int) -> int:
    """Positions re-masked before refinement pass ``step`` (1 .. steps-1): linear decay."""
    return max(1, int(length * (1.0 - step / steps)))


def eos_penalty(length: int, eos_from: int, eos_decay: float) -> torch.Tensor:
    """Factors (length - eos_from,) on P([EOS]) at positions ``eos_from .. length - 1``:
    ``eos_decay ** (n - j)`` for ``j = 0 .. n - 1``, ``n = length - eos_from`` (official
    ``eos_penalizer = (ones(n) * d).cumprod(-1).flip(-1)``)."""
    n = length - eos_from
    if n < 1:
        raise ValueError(f'eos_from={eos_from} leaves no position of the {length} to penalise')
    return torch.full((n,), float(eos_decay)).cumprod(0).flip(0)


def mask_predict(predict: Callable[[torch.Tensor], torch.Tensor], batch_size: int, length: int, steps: int,
                 mask_id: int, device=None, eos_id: Optional[int] = None, eos_from: Optional[int] = None,
                 eos_decay: float = 1.0, history: Optional[List[torch.Tensor]] = None) -> torch.Tensor:
    """Decode ``batch_size`` sequences of exactly ``length`` tokens in ``steps`` passes.

    Args:
        predict: ids (B, L) -> probabilities (B, L, V).
        steps (int): Number of forward passes T >= 1.
        eos_id, eos_from, eos_decay: multiply ``P(eos)`` at positions ``>= eos_from`` by
            :func:`eos_penalty` (``eos_decay ** (length - position)``, the official per-level
            EOS penalty; 1.0 disables it).
        history (list, optional): if given, receives the (B, L) bool re-mask of every
            refinement step (for inspection/tests).
    """
    if steps < 1:
        raise ValueError(f'mask-predict needs steps >= 1, got {steps}')

    penalty = None
    if eos_id is not None and eos_decay != 1.0 and eos_from is not None:
        penalty = eos_penalty(length, eos_from, eos_decay)

    def probs_of(ids):
        p = predict(ids)
        if penalty is not None:
            p = p.clone()
            p[:, eos_from:, eos_id] *= penalty.to(device=p.device, dtype=p.dtype)
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

"""The LA-DARTS latency predictor: a multi-layer regressor from the architecture encoding to latency.

Latency-Aware Differentiable Neural Architecture Search, Xu, Xie, Zhang, Chen, Shi, Tian and Xiong,
arXiv:2001.06392 (2020). No official code was released (searched GitHub: none).

Encoding (paper: "encode each network architecture and feed it into a multi-layer regressor").
A cell of the tabular benchmark's space (:mod:`tessera_nas.benchmarks.space`) is the matrix
``E`` (6 edges x 5 ops) of one-hot rows, ``E[e, k] = 1`` iff edge ``e`` carries op ``OPS[k]``; the
regressor sees ``E`` flattened (30 inputs)::

    LAT(E) = ref_ms * f(vec(E))       f: Linear(30, h1) -> ReLU -> ... -> Linear(h_last, 1)    (1)

``ref_ms`` is the mean latency of the training cells (the regressor fits ``latency / ref_ms``, a
target near 1). ``hidden=()`` makes ``f`` linear: then (1) is the per-op lookup sum
``LAT(E) = b + sum_{e,k} E[e, k] c[e, k]`` (the lookup-table baseline).

During the search (paper, section 3) the one-hot rows are replaced by the architecture weights of
the supernet, ``P[e] = softmax(alpha[e])``, and ``LAT(P)`` is the differentiable latency of the
relaxed cell. On a one-hot ``P`` it is exactly the prediction for that cell; for the linear
regressor it is also the expected latency ``E_{cell ~ P}[LAT(cell)]`` of a cell drawn with the
edge-wise probabilities ``P`` (linearity); for the MLP it is the regressor's value at the mean
encoding, the paper's surrogate.

Fitting: full-batch Adam on the mean squared error of ``latency / ref_ms`` over the training cells
(:meth:`LatencyPredictor.fit`), deterministic for a seed. :func:`fit_on_table` fits on a seeded
split of the tabular benchmark's measured latencies (``batch 1``, one thread, this CPU) and reports
the held-out error and rank correlation.
"""
import random
import statistics
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from tessera_nas.benchmarks import space
from tessera_nas.benchmarks.tabular import TabularBenchmark, kendall_tau, spearman
from tessera_nas.registry import MODELS

__all__ = ['encode', 'LatencyPredictor', 'fit_on_table', 'latency_metrics']


def encode(arch: space.ArchLike) -> torch.Tensor:
    """One-hot encoding ``(6, 5)`` of a cell (genotype string, index or 6 op names).

    Raises:
        GenotypeError: an op or edge outside the space (the message names it).
    """
    ops = space.ops_of(arch)
    enc = torch.zeros(len(space.EDGES), len(space.OPS))
    for e, op in enumerate(ops):
        enc[e, space.OPS.index(op)] = 1.0
    return enc


@MODELS.register_module()
class LatencyPredictor(nn.Module):
    """``LAT(E) = ref_ms * f(vec(E))`` of eq. (1).

    Args:
        hidden (Sequence[int]): Hidden widths of ``f`` (``()`` = the per-op lookup sum).
        ref_ms (float): Latency unit (set by :meth:`fit` to the training mean).

    Shapes: ``forward(P)``: ``P`` (..., 6, 5) -> (...) latency in ms.
    """

    def __init__(self, hidden: Sequence[int] = (64, 64), ref_ms: float = 1.0):
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        if any(h <= 0 for h in hidden):
            raise ValueError(f'hidden widths must be > 0, got {hidden}')
        dims = (len(space.EDGES) * len(space.OPS),) + hidden + (1,)
        layers = []
        for k, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            layers.append(nn.Linear(a, b))
            if k < len(dims) - 2:
                layers.append(nn.ReLU())
        self.hidden = hidden
        self.f = nn.Sequential(*layers)
        self.register_buffer('ref_ms', torch.tensor(float(ref_ms)))
        #: ops seen on each edge in the training cells (6, 5); a prediction involving an unseen one is refused
        self.register_buffer('seen', torch.ones(len(space.EDGES), len(space.OPS), dtype=torch.bool))

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        shape = (len(space.EDGES), len(space.OPS))
        if tuple(probs.shape[-2:]) != shape:
            raise ValueError(f'LatencyPredictor expects (..., {shape[0]} edges, {shape[1]} ops {list(space.OPS)}), '
                             f'got shape {tuple(probs.shape)}')
        out = self.f(probs.flatten(-2).to(self.ref_ms.dtype)).squeeze(-1)
        return out * self.ref_ms

    def predict(self, arch: space.ArchLike) -> float:
        """Latency (ms) of one cell; refuses a cell with an op the predictor never saw on that edge."""
        enc = encode(arch)
        unseen = enc.bool() & ~self.seen
        if unseen.any():
            e, k = (int(v) for v in unseen.nonzero()[0])
            i, j = space.EDGES[e]
            raise ValueError(f'LatencyPredictor: op {space.OPS[k]!r} on edge {i}->{j} never occurs in the '
                             f'cells it was fitted on; it cannot predict {space.to_str(space.ops_of(arch))}')
        with torch.no_grad():
            return float(self(enc))

    def fit(self, cells: Sequence[space.ArchLike], latencies_ms: Sequence[float], steps: int = 3000,
            lr: float = 3e-3, weight_decay: float = 1e-5, seed: int = 0) -> 'LatencyPredictor':
        """Full-batch Adam on ``MSE(f(vec E), latency / ref_ms)``; sets ``ref_ms`` and ``seen``."""
        if len(cells) != len(latencies_ms) or not len(cells):
            raise ValueError(f'need as many latencies as cells (> 0), got {len(cells)} and {len(latencies_ms)}')
        if any(not float(t) > 0 for t in latencies_ms):
            raise ValueError('latencies must be > 0 ms')
        x = torch.stack([encode(c) for c in cells]).flatten(1)
        y = torch.tensor([float(t) for t in latencies_ms])
        self.ref_ms.fill_(float(y.mean()))
        self.seen.copy_(x.view(-1, *self.seen.shape).amax(0) > 0)
        target = y / self.ref_ms
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for m in self.f:
                if isinstance(m, nn.Linear):
                    bound = 1.0 / m.in_features ** 0.5
                    m.weight.copy_(torch.empty_like(m.weight).uniform_(-bound, bound, generator=g))
                    m.bias.copy_(torch.empty_like(m.bias).uniform_(-bound, bound, generator=g))
        opt = torch.optim.Adam(self.f.parameters(), lr=lr, weight_decay=weight_decay)
        with torch.enable_grad():
            for _ in range(steps):
                loss = ((self.f(x).squeeze(-1) - target) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        for p in self.parameters():
            p.requires_grad_(False)
        return self


def latency_metrics(predicted: Sequence[float], measured: Sequence[float]) -> Dict[str, float]:
    """Mean / max relative error, RMSE (ms), Kendall tau and Spearman rho of predictions."""
    rel = [abs(p - m) / m for p, m in zip(predicted, measured)]
    return dict(n=len(rel), mean_rel_err=statistics.fmean(rel), max_rel_err=max(rel),
                rmse_ms=statistics.fmean((p - m) ** 2 for p, m in zip(predicted, measured)) ** 0.5,
                kendall_tau=kendall_tau(predicted, measured), spearman=spearman(predicted, measured))


def fit_on_table(bench: Optional[TabularBenchmark] = None, hidden: Sequence[int] = (64, 64), holdout: int = 100,
                 split_seed: int = 0, steps: int = 3000, lr: float = 3e-3, weight_decay: float = 1e-5,
                 seed: int = 0) -> Tuple[LatencyPredictor, Dict]:
    """Fit a predictor on the table's measured latencies, ``holdout`` cells held out.

    The split is ``random.Random(split_seed)`` over the table's entries; returns the predictor and
    ``dict(train=<metrics>, heldout=<metrics>, heldout_indices=[...])`` (:func:`latency_metrics`).
    """
    bench = bench or TabularBenchmark.load()
    entries = list(bench)
    if not 0 <= holdout < len(entries):
        raise ValueError(f'holdout must be in [0, {len(entries)}), got {holdout}')
    order = list(range(len(entries)))
    random.Random(split_seed).shuffle(order)
    held = [entries[i] for i in order[:holdout]]
    train = [entries[i] for i in order[holdout:]]
    pred = LatencyPredictor(hidden).fit([e.index for e in train], [e.latency_ms for e in train], steps=steps,
                                        lr=lr, weight_decay=weight_decay, seed=seed)
    report = dict(hidden=list(pred.hidden), ref_ms=float(pred.ref_ms), num_train=len(train),
                  train=latency_metrics([pred.predict(e.index) for e in train], [e.latency_ms for e in train]))
    if held:
        report['heldout'] = latency_metrics([pred.predict(e.index) for e in held], [e.latency_ms for e in held])
        report['heldout_indices'] = [e.index for e in held]
    return pred, report

"""TAL-MR's proposal rescoring stage: a BSN-style proposal evaluation module (PEM) on the predicted curves.

As the official ``main_pem.py`` / ``generate_proposals.generate_pem_data`` / ``model.pemNet`` of
https://github.com/PeisenZhao/Bottom-Up-TAL-with-MR (BSN's PEM, Lin et al., ECCV 2018, with its BSP feature
replaced by the sampled curves):

- feature of a proposal ``[s, e]`` (duration ``d``): the start, action and end curves linearly interpolated at 32
  evenly spaced points of ``[s - 0.2 d, e + 0.2 d]`` (clipped to ``[c_0 + 0.01, c_{T-1} - 0.01]``, the first and
  last position centres), concatenated ``[start(32), action(32), end(32)]`` (96 values);
- network: Linear 96 -> 96, ReLU, 96 -> 48, ReLU, 48 -> 1, sigmoid (Glorot-uniform weights, zero biases);
- target: the proposal's highest tIoU with the video's ground truth; loss: mean squared error;
- training: proposals of the training videos (after soft-NMS), batches of 256, SGD momentum 0.9, lr 1e-3 for 30
  epochs then 1e-4 to 40 (official: 90 % of the videos train, 10 % only monitor);
- final score: ``s * e`` score of the proposal times the PEM output.
"""
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from tessera_video.evaluation.temporal_metrics import temporal_iou

NUM_POINTS = 32


def pem_features(start: np.ndarray, action: np.ndarray, end: np.ndarray, centers: np.ndarray,
                 proposals: np.ndarray, num_points: int = NUM_POINTS, expand: float = 0.2) -> np.ndarray:
    """(P, 3 * num_points) features of (P, >=2) proposals ``[start, end, ...]`` in the units of ``centers``."""
    centers = np.asarray(centers, dtype=np.float64)
    lo, hi = centers[0] + 1e-2, centers[-1] - 1e-2
    rows = np.asarray(proposals, dtype=np.float64).reshape(len(proposals), -1)
    out = np.zeros((len(rows), 3 * num_points), dtype=np.float32)
    for i, (ps, pe) in enumerate(rows[:, :2]):
        d = pe - ps
        s_new = min(max(ps - expand * d, lo), hi)
        e_new = max(min(hi, pe + expand * d), lo)
        points = np.linspace(s_new, e_new, num_points)
        out[i] = np.concatenate([np.interp(points, centers, c) for c in (start, action, end)])
    return out


def proposal_max_iou(proposals: np.ndarray, gt_segments: np.ndarray) -> np.ndarray:
    """(P,) highest tIoU of each proposal with the ground truth (0 without ground truth)."""
    gt = np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2)
    if len(gt) == 0 or len(proposals) == 0:
        return np.zeros(len(proposals))
    return temporal_iou(np.asarray(proposals)[:, :2], gt).max(1)


class ProposalEvaluationMLP(nn.Module):
    """The official ``pemNet``: 96 -> 96 -> 48 -> 1 with ReLUs and a sigmoid."""

    def __init__(self, in_channels: int = 3 * NUM_POINTS, hidden: Sequence[int] = (96, 48)):
        super().__init__()
        layers, c = [], in_channels
        for h in hidden:
            layers += [nn.Linear(c, h), nn.ReLU(inplace=True)]
            c = h
        layers += [nn.Linear(c, 1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def train_pem(features: np.ndarray, ious: np.ndarray, epochs: int = 40, batch_size: int = 256, lr: float = 1e-3,
              lr_drop_epoch: int = 30, seed: int = 0, model: Optional[ProposalEvaluationMLP] = None
              ) -> ProposalEvaluationMLP:
    """Train the PEM on (P, 96) features against (P,) tIoUs with the official schedule; returns it in eval mode."""
    g = torch.Generator().manual_seed(seed)
    if model is None:
        torch.manual_seed(seed)
        model = ProposalEvaluationMLP(features.shape[1])
    x = torch.as_tensor(features, dtype=torch.float32)
    y = torch.as_tensor(ious, dtype=torch.float32)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for epoch in range(epochs):
        if epoch == lr_drop_epoch:
            for group in opt.param_groups:
                group['lr'] = lr * 0.1
        order = torch.randperm(len(x), generator=g)
        for b in range(len(x) // batch_size):   # the official loader drops the last partial batch
            idx = order[b * batch_size:(b + 1) * batch_size]
            loss = ((model(x[idx]) - y[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()

"""TAL-MR: a bottom-up temporal action localizer (start / action / end probabilities and boundary offsets) trained
with the two mutual regularizers, Intra-phase and Inter-phase Consistency.

Bottom-Up Temporal Action Localization with Mutual Regularization, Zhao et al., ECCV 2020, arXiv:2002.07358.
Official code: https://github.com/PeisenZhao/Bottom-Up-TAL-with-MR (``model.py: MultiDenseNet``, ``dataloader.py``
for the targets, ``generate_proposals.py`` for the proposals).

Network (``MultiDenseNet``): snippet features (N, C, T) -> a base of 1D convs (:data:`BASE_LAYERS`) -> five
parallel heads, each a ``head_kernel`` conv to ``head_channels`` + ReLU and a ``head_kernel`` conv to 1 channel:
``action``, ``start``, ``end`` (sigmoid) and ``start_offset``, ``end_offset`` (linear, seconds). Convs are 'same'
padded, Glorot-uniform weights and zero biases (TensorFlow's ``conv1d`` defaults).

Targets (``DataLoader.gen_dataset``), per ground-truth segment ``[s0, e0]`` (seconds, length ``l``), with output
positions centred at ``c_t = c_0 + t * step`` and ``idx(x) = round((x - c_0) / step)`` (round half to even):

    action  = 1 on [idx(s0), idx(e0)]
    start   = 1 on [idx(max(s0 - l/10, 0)), idx(s0 + l/10)],   start_offset_t = s0 - c_t there
    end     = 1 on [idx(e0 - l/10), idx(min(e0 + l/10, c_{T-1}))], end_offset_t = e0 - c_t there

(indices clipped to [0, T - 1]; the targets are class-agnostic, the official code takes the max over classes).
Losses: :func:`tessera_video.models.losses.tal_mr_losses.tal_mr_losses`. Inference: the proposals of
:func:`generate_proposals` (score ``s * e``), each labelled with the class whose mean snippet probability over the
proposal is highest (``cls_scores`` of the data sample, from the feature extractor), see the config README.
"""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import nn

from tessera_video.models.localizers.proposal_generation import generate_proposals
from tessera_video.models.losses.tal_mr_losses import tal_mr_losses
from tessera_video.registry import MODELS


class ConvLayer(NamedTuple):
    """One base layer: a 1D conv of ``kernel`` to ``channels`` with ``stride``, then ReLU."""
    channels: int
    kernel: int
    stride: int


# The official base (``baselayer1`` / ``baselayer2``): legend ConvLayer(channels, kernel, stride). Its strides
# down-sample THUMOS' 4-frame-step features to the 16-frame output step.
BASE_LAYERS = (ConvLayer(512, 9, 2), ConvLayer(512, 9, 2))
HEADS = ('action', 'start', 'end', 'start_offset', 'end_offset')
PROBABILITY_HEADS = HEADS[:3]


def _conv1d(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Conv1d:
    conv = nn.Conv1d(in_channels, out_channels, kernel, stride, padding=kernel // 2)
    nn.init.xavier_uniform_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


def output_centers(centers: np.ndarray, factor: int, length: int) -> np.ndarray:
    """Centres (seconds) of ``length`` output positions that each pool ``factor`` consecutive input snippets:
    the mean of the covered input centres, extrapolated with the input step past the last snippet."""
    centers = np.asarray(centers, dtype=np.float64)
    step = centers[1] - centers[0] if len(centers) > 1 else 1.0
    first = np.arange(length) * factor
    return centers[0] + (first + (factor - 1) / 2.0) * step


def tal_mr_targets(segments: np.ndarray, centers: np.ndarray, boundary_ratio: float = 0.1
                   ) -> Dict[str, np.ndarray]:
    """Official TAL-MR targets (module docstring) for one video.

    Args:
        segments (ndarray): (K, 2) ground-truth ``[start, end]`` in seconds.
        centers (ndarray): (T,) uniformly spaced output position centres in seconds.
        boundary_ratio (float): Half-width of the start / end regions as a fraction of the segment (1/10).

    Returns:
        dict: ``action``, ``start``, ``end`` (T,) in {0, 1}; ``start_offset``, ``end_offset`` (T,) seconds.
    """
    centers = np.asarray(centers, dtype=np.float64)
    t = len(centers)
    if t < 2:
        raise ValueError(f'need at least 2 output positions, got {t}')
    c0, step = centers[0], centers[1] - centers[0]
    if step <= 0 or not np.allclose(np.diff(centers), step):
        raise ValueError('output centres must be uniformly increasing')
    out = {k: np.zeros(t, dtype=np.float32) for k in HEADS}

    def idx(x):
        return int(min(max(np.round((x - c0) / step), 0), t - 1))

    for s0, e0 in np.asarray(segments, dtype=np.float64).reshape(-1, 2):
        if e0 < s0:
            raise ValueError(f'segment end {e0} < start {s0}')
        margin = (e0 - s0) * boundary_ratio
        out['action'][idx(s0):idx(e0) + 1] = 1
        a, b = idx(max(s0 - margin, 0.0)), idx(s0 + margin)
        out['start'][a:b + 1] = 1
        out['start_offset'][a:b + 1] = s0 - centers[a:b + 1]
        a, b = idx(e0 - margin), idx(min(e0 + margin, centers[-1]))
        out['end'][a:b + 1] = 1
        out['end_offset'][a:b + 1] = e0 - centers[a:b + 1]
    return out


def _meta(sample, key):
    if isinstance(sample, dict):
        return sample[key]
    return sample.metainfo[key]


@MODELS.register_module()
class TALMR(BaseModel):
    """Bottom-up localizer of TAL-MR on snippet features.

    Args:
        in_channels (int): Feature channels C of the (N, C, T) inputs.
        base_layers (Sequence): ``(channels, kernel, stride)`` rows of the base (:data:`BASE_LAYERS`).
        head_channels (int): Hidden channels of each head (256).
        head_kernel (int): Kernel of both convs of each head (5).
        loss_weights (dict, optional): ``cls`` / ``reg`` / ``intra`` / ``inter`` (all 1 as officially; set
            ``intra=0, inter=0`` for the baseline without the mutual regularizers).
        boundary_ratio (float): Start / end region half-width as a fraction of the segment (0.1).
        proposal_cfg (dict, optional): keyword arguments of :func:`generate_proposals` (``max_duration`` in
            output positions, ``max_ends_per_start``, ``soft_nms_cfg``).
        data_preprocessor (dict, optional): mmengine data preprocessor (default: move to device).
        init_cfg (dict, optional): mmengine init config.

    Inputs: ``inputs`` a (N, C, T) tensor or a list of (C, T) tensors (equal T); ``data_samples`` with metainfo
    ``video_id``, ``snippet_centers`` (T,) seconds, ``gt_segments`` (K, 2) seconds, ``gt_labels`` (K,),
    ``duration_second`` and, for labelled predictions, ``cls_scores`` (T, num_classes).
    """

    def __init__(self, in_channels: int, base_layers: Sequence = BASE_LAYERS, head_channels: int = 256,
                 head_kernel: int = 5, loss_weights: Optional[dict] = None, boundary_ratio: float = 0.1,
                 proposal_cfg: Optional[dict] = None, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        layers = [ConvLayer(*row) for row in base_layers]
        if not layers:
            raise ValueError('base_layers needs at least one (channels, kernel, stride) row')
        base, channels, self.down_factor = [], in_channels, 1
        for layer in layers:
            base += [_conv1d(channels, layer.channels, layer.kernel, layer.stride), nn.ReLU(inplace=True)]
            channels, self.down_factor = layer.channels, self.down_factor * layer.stride
        self.base = nn.Sequential(*base)
        self.heads = nn.ModuleDict({
            name: nn.Sequential(_conv1d(channels, head_channels, head_kernel), nn.ReLU(inplace=True),
                                _conv1d(head_channels, 1, head_kernel)) for name in HEADS})
        self.loss_weights = dict(loss_weights or {})
        unknown = set(self.loss_weights) - {'cls', 'reg', 'intra', 'inter'}
        if unknown:
            raise KeyError(f'unknown TAL-MR loss weights {sorted(unknown)}; valid: cls, inter, intra, reg')
        self.boundary_ratio = boundary_ratio
        self.proposal_cfg = dict(proposal_cfg or {})

    # ------------------------------------------------------------------ network
    def forward_curves(self, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        """(N, C, T) -> dict of (N, T') curves: probabilities ``action/start/end``, offsets (seconds)."""
        if feats.dim() != 3:
            raise ValueError(f'TALMR expects snippet features (N, C, T), got shape {tuple(feats.shape)}')
        x = self.base(feats)
        out = {}
        for name, head in self.heads.items():
            y = head(x).squeeze(1)
            out[name] = torch.sigmoid(y) if name in PROBABILITY_HEADS else y
        return out

    def _centers(self, sample, length: int) -> np.ndarray:
        return output_centers(np.asarray(_meta(sample, 'snippet_centers')), self.down_factor, length)

    @staticmethod
    def _stack(inputs) -> torch.Tensor:
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) != 1:
                raise ValueError(f'TALMR batches videos of equal snippet counts only, got shapes {sorted(shapes)}')
            inputs = torch.stack(list(inputs))
        return inputs.float()

    # ------------------------------------------------------------------ mmengine API
    def forward(self, inputs, data_samples: Optional[list] = None, mode: str = 'tensor'):
        feats = self._stack(inputs)
        if mode == 'tensor':
            return self.forward_curves(feats)
        if mode == 'loss':
            return self.loss(feats, data_samples)
        if mode == 'predict':
            return self.predict(feats, data_samples)
        raise RuntimeError(f'invalid mode {mode!r}; valid: tensor, loss, predict')

    def targets(self, data_samples: list, length: int, device) -> Dict[str, torch.Tensor]:
        per_video = [tal_mr_targets(_meta(s, 'gt_segments'), self._centers(s, length), self.boundary_ratio)
                     for s in data_samples]
        out = {k: torch.as_tensor(np.stack([v[k] for v in per_video]), device=device) for k in HEADS}
        out['mask'] = torch.ones_like(out['action'])
        return out

    def loss(self, feats: torch.Tensor, data_samples: list) -> Dict[str, torch.Tensor]:
        pred = self.forward_curves(feats)
        target = self.targets(data_samples, pred['action'].size(1), feats.device)
        return tal_mr_losses(pred, target, self.loss_weights)

    @torch.no_grad()
    def predict(self, feats: torch.Tensor, data_samples: list) -> List[dict]:
        pred = {k: v.cpu().numpy().astype(np.float64) for k, v in self.forward_curves(feats).items()}
        results = []
        for i, sample in enumerate(data_samples):
            length = pred['action'].shape[1]
            centers = self._centers(sample, length)
            duration = float(_meta(sample, 'duration_second'))
            proposals = generate_proposals(pred['start'][i], pred['end'][i], centers, pred['start_offset'][i],
                                           pred['end_offset'][i], duration=duration, **self.proposal_cfg)
            labels = self._label(proposals, sample)
            results.append(dict(
                video_id=_meta(sample, 'video_id'), proposals=proposals, proposal_labels=labels,
                gt_segments=np.asarray(_meta(sample, 'gt_segments'), dtype=np.float64).reshape(-1, 2),
                gt_labels=np.asarray(_meta(sample, 'gt_labels')).reshape(-1), duration_second=duration,
                centers=centers, **{k: pred[k][i] for k in PROBABILITY_HEADS}))
        return results

    @staticmethod
    def _label(proposals: np.ndarray, sample) -> np.ndarray:
        """Class of each proposal: argmax of the mean ``cls_scores`` of the snippets centred inside it (the
        nearest snippet if none is); -1 for all when the sample has no ``cls_scores``."""
        meta = sample if isinstance(sample, dict) else sample.metainfo
        if 'cls_scores' not in meta:
            return np.full(len(proposals), -1, dtype=np.int64)
        scores = np.asarray(meta['cls_scores'], dtype=np.float64)
        centers = np.asarray(meta['snippet_centers'], dtype=np.float64)
        labels = np.empty(len(proposals), dtype=np.int64)
        for j, (s, e, _) in enumerate(proposals):
            inside = (centers >= s) & (centers <= e)
            if not inside.any():
                inside = np.zeros(len(centers), bool)
                inside[np.argmin(np.abs(centers - 0.5 * (s + e)))] = True
            labels[j] = int(scores[inside].mean(0).argmax())
        return labels

"""Snippet features of untrimmed videos from a frozen video recognizer, computed once and cached (as TAL-MR, BSN
and BMN consume precomputed two-stream / I3D snippet features).

:class:`SnippetFeatureDataset` wraps an untrimmed video dataset (``UntrimmedMovingDigits`` by default): each video
of ``T_f`` frames is cut into snippets of ``snippet_len`` frames every ``snippet_stride`` frames
(``T = (T_f - snippet_len) // snippet_stride + 1``); snippet ``t`` covers frames
``[t * stride, t * stride + snippet_len)`` and is centred at ``(t * stride + snippet_len / 2) / fps`` seconds. A
frozen ``Recognizer3D`` (its config and, optionally, a checkpoint read through tessera-core's safe loader) encodes
every snippet: the spatiotemporally averaged last-stage features are the snippet's feature, and the softmax of its
classifier the snippet's class probabilities (used only to label proposals for detection mAP).

The cache is one ``.npz`` per (videos, recognizer, checkpoint bytes, snippet layout), named by their hash, under
``cache_dir``; it holds plain arrays only and is read with ``allow_pickle=False``.
"""
import copy
import hashlib
import json
import os
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.structures import BaseDataElement

from tessera_video.registry import DATASETS, MODELS


def _hash_file(path: str) -> str:
    h = hashlib.sha1()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


@DATASETS.register_module()
class SnippetFeatureDataset(BaseDataset):
    """Per-video snippet features and temporal ground truth (see the module docstring).

    Args:
        videos (dict): Config of the untrimmed video dataset (items with ``img`` (T, H, W) uint8, ``video_id``,
            ``gt_segments`` frames ``[start, end)``, ``gt_labels``, ``fps``, ``duration_second``).
        recognizer (dict): Config of the frozen ``Recognizer3D`` (grey clips, (N, 1, C, T, H, W)).
        checkpoint (str, optional): Its weights (``state_dict`` of an mmengine checkpoint); None keeps the
            random initialisation (smoke tests only).
        snippet_len (int): Frames per snippet.
        snippet_stride (int): Frames between snippet starts.
        cache_dir (str, optional): Where features are cached; None computes them in memory every time.
        batch_size (int): Snippets per forward pass during extraction.

    Items: ``inputs`` (C, T) float32 features; ``data_samples`` a ``BaseDataElement`` whose metainfo holds
    ``video_id``, ``snippet_centers`` (T,) seconds, ``gt_segments`` (K, 2) seconds, ``gt_labels`` (K,),
    ``duration_second``, ``fps`` and ``cls_scores`` (T, num_classes).
    """

    def __init__(self, videos: dict, recognizer: dict, checkpoint: Optional[str] = None, snippet_len: int = 4,
                 snippet_stride: int = 2, cache_dir: Optional[str] = None, batch_size: int = 128, **kwargs):
        if snippet_len < 1 or snippet_stride < 1:
            raise ValueError(f'snippet_len and snippet_stride must be >= 1, got {snippet_len}, {snippet_stride}')
        if checkpoint is not None and not osp.isfile(checkpoint):
            raise FileNotFoundError(f'SnippetFeatureDataset: recognizer checkpoint {checkpoint} does not exist '
                                    '(train it first, see configs/tal_mr/README.md)')
        self.videos_cfg, self.recognizer_cfg = copy.deepcopy(dict(videos)), copy.deepcopy(dict(recognizer))
        self.checkpoint, self.snippet_len, self.snippet_stride = checkpoint, snippet_len, snippet_stride
        self.cache_dir, self.batch_size = cache_dir, batch_size
        kwargs.setdefault('serialize_data', False)
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ cache
    def cache_key(self) -> str:
        spec = dict(videos=self.videos_cfg, recognizer=self.recognizer_cfg, snippet_len=self.snippet_len,
                    snippet_stride=self.snippet_stride,
                    checkpoint=_hash_file(self.checkpoint) if self.checkpoint else None)
        return hashlib.sha1(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def _build_recognizer(self) -> torch.nn.Module:
        model = MODELS.build(copy.deepcopy(self.recognizer_cfg))
        if self.checkpoint:
            from tessera_core.engine import safe_load
            state = safe_load(self.checkpoint, map_location='cpu')
            state = state.get('state_dict', state)
            missing, unexpected = model.load_state_dict(state, strict=False)
            needed = [k for k in missing if k.startswith(('backbone.', 'cls_head.'))]
            if needed:
                raise KeyError(f'{self.checkpoint}: no weights for {needed[:5]}{"..." if len(needed) > 5 else ""}')
        return model.eval()

    @torch.no_grad()
    def extract(self, videos: BaseDataset) -> dict:
        """Features of every video: dict of ``feats`` (V, C, T), ``cls_scores`` (V, T, K) and per-video fields."""
        model = self._build_recognizer()
        pre = model.data_preprocessor
        mean = torch.as_tensor(pre.mean).view(-1) if getattr(pre, 'mean', None) is not None else torch.zeros(1)
        std = torch.as_tensor(pre.std).view(-1) if getattr(pre, 'std', None) is not None else torch.ones(1)
        feats, scores = [], []
        for i in range(len(videos)):
            frames = torch.as_tensor(np.asarray(videos[i]['img']), dtype=torch.float32)    # (T_f, H, W)
            t = (frames.shape[0] - self.snippet_len) // self.snippet_stride + 1
            if t < 2:
                raise ValueError(f'video {i} has {frames.shape[0]} frames: fewer than 2 snippets of '
                                 f'{self.snippet_len} frames every {self.snippet_stride}')
            starts = torch.arange(t) * self.snippet_stride
            clips = torch.stack([frames[s:s + self.snippet_len] for s in starts.tolist()])  # (T, L, H, W)
            clips = ((clips - mean[0]) / std[0])[:, None]                                 # (T, 1, L, H, W)
            f_v, s_v = [], []
            for b in range(0, t, self.batch_size):
                x = model.backbone(clips[b:b + self.batch_size])
                x = x[-1] if isinstance(x, (tuple, list)) else x
                pooled = x.mean(dim=(2, 3, 4))
                f_v.append(pooled)
                s_v.append(model.cls_head.fc_cls(pooled).softmax(-1))
            feats.append(torch.cat(f_v).T.numpy().astype(np.float32))
            scores.append(torch.cat(s_v).numpy().astype(np.float32))
        return dict(feats=np.stack(feats), cls_scores=np.stack(scores))

    def load_data_list(self) -> List[dict]:
        videos = DATASETS.build(copy.deepcopy(self.videos_cfg))
        path = osp.join(self.cache_dir, f'snippets_{self.cache_key()}.npz') if self.cache_dir else None
        if path and osp.isfile(path):
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        else:
            arrays = self.extract(videos)
            if path:
                os.makedirs(self.cache_dir, exist_ok=True)
                tmp = path + '.tmp.npz'
                np.savez(tmp, **arrays)
                os.replace(tmp, path)
        if len(arrays['feats']) != len(videos):
            raise ValueError(f'{path}: {len(arrays["feats"])} cached videos, the dataset has {len(videos)}')
        data_list = []
        for i in range(len(videos)):
            info = BaseDataset.get_data_info(videos, i)
            fps = float(info['fps'])
            t = arrays['feats'].shape[2]
            centers = (np.arange(t) * self.snippet_stride + self.snippet_len / 2.0) / fps
            data_list.append(dict(
                feats=arrays['feats'][i], cls_scores=arrays['cls_scores'][i], video_id=info['video_id'],
                snippet_centers=centers, gt_segments=np.asarray(info['gt_segments'], np.float64).reshape(-1, 2) / fps,
                gt_labels=np.asarray(info['gt_labels'], np.int64).reshape(-1), fps=fps,
                duration_second=float(info['duration_second'])))
        return data_list

    def prepare_data(self, idx: int) -> dict:
        info = self.get_data_info(idx)
        meta = {k: v for k, v in info.items() if k not in ('feats', 'sample_idx')}
        return dict(inputs=torch.from_numpy(np.ascontiguousarray(info['feats'])),
                    data_samples=BaseDataElement(metainfo=meta))

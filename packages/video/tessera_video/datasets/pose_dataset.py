"""Skeleton annotation files in mmaction2 1.x / pyskl's ``.pkl`` format and the dataset reading them.

The file is a pickled dict (mmaction2 ``mmaction/datasets/pose_dataset.py``, pyskl's ``tools/data``)::

    dict(split=dict(xsub_train=['S001C001P001R001A001', ...], xsub_val=[...], ...),
         annotations=[dict(frame_dir='S001C001P001R001A001', label=0, total_frames=T,
                           keypoint=float array (M, T, V, C), keypoint_score=(M, T, V) optional,
                           img_shape=(h, w) optional), ...])

It is read with tessera-core's restricted unpickler (``safe_pickle_load``): only plain data (dicts, lists,
strings, numbers, numpy arrays) loads; a file naming any other global is refused before anything runs.
"""
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.fileio import get_local_path

from tessera_core.engine import safe_pickle_load
from tessera_video.registry import DATASETS

REQUIRED_KEYS = ('frame_dir', 'label', 'total_frames', 'keypoint')


def check_pose_annotation(ann: dict, where: str) -> dict:
    """Validate one annotation dict; errors name ``where`` (file and index)."""
    if not isinstance(ann, dict):
        raise ValueError(f'{where}: an annotation must be a dict, got {type(ann).__name__}')
    missing = [k for k in REQUIRED_KEYS if k not in ann]
    if missing:
        raise ValueError(f'{where} ({ann.get("frame_dir", "?")}): missing keys {missing}; required: {REQUIRED_KEYS}')
    kp = np.asarray(ann['keypoint'])
    if kp.ndim != 4:
        raise ValueError(f'{where} ({ann["frame_dir"]}): keypoint must be (M, T, V, C), got shape {kp.shape}')
    if kp.shape[1] != ann['total_frames']:
        raise ValueError(f'{where} ({ann["frame_dir"]}): keypoint has {kp.shape[1]} frames but total_frames is '
                         f'{ann["total_frames"]}')
    score = ann.get('keypoint_score')
    if score is not None and np.shape(score) != kp.shape[:3]:
        raise ValueError(f'{where} ({ann["frame_dir"]}): keypoint_score shape {np.shape(score)} is not '
                         f'(M, T, V) = {kp.shape[:3]}')
    return ann


def load_pose_annotations(path: str, split: Optional[str] = None) -> List[dict]:
    """Load the annotations of ``path`` (a pyskl ``.pkl``), those of ``split`` only if given."""
    with get_local_path(path) as local, open(local, 'rb') as f:
        data = safe_pickle_load(f, name=str(path))
    if isinstance(data, list):  # older pyskl / mmaction2 0.x files: a bare list of annotations
        data = dict(annotations=data)
    if not isinstance(data, dict) or 'annotations' not in data:
        raise ValueError(f'{path}: expected dict(split=..., annotations=[...]), got {type(data).__name__}')
    anns = [check_pose_annotation(a, f'{path}, annotation {i}') for i, a in enumerate(data['annotations'])]
    if split is None:
        return anns
    splits = data.get('split') or {}
    if split not in splits:
        raise KeyError(f'{path}: no split {split!r}; valid: {sorted(splits)}')
    keep = set(splits[split])
    return [a for a in anns if a['frame_dir'] in keep]


@DATASETS.register_module()
class PoseDataset(BaseDataset):
    """Skeleton clips from a pyskl / mmaction2 ``.pkl`` annotation file.

    Args:
        ann_file (str): The ``.pkl`` file.
        pipeline (list): Transforms (ending with ``PackActionInputs``, which packs ``keypoint``).
        split (str, optional): e.g. ``'xsub_train'``; None for every annotation.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments.
    """

    def __init__(self, ann_file: str, pipeline: Sequence[Union[dict, Callable]] = (), split: Optional[str] = None,
                 **kwargs):
        self.split = split
        kwargs.setdefault('serialize_data', False)
        super().__init__(ann_file=ann_file, pipeline=list(pipeline), **kwargs)

    def load_data_list(self) -> List[dict]:
        return [dict(a) for a in load_pose_annotations(self.ann_file, self.split)]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['sample_idx'] = idx
        return info

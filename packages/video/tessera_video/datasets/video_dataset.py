"""A folder of video files with a list file: mmaction2's ``VideoDataset`` format (Kinetics, UCF101, HMDB51, ...).

The list file has one ``path label`` line per video (mmaction2 1.x ``mmaction/datasets/video_dataset.py``):

    some/class/video_0001.mp4 3
    other/video_0002.avi 0

``path`` is relative to ``data_prefix['video']`` (or absolute); ``label`` is an integer class index, several
indices for multi-label sets. ``#`` starts a comment line. The pipeline opens and decodes the files
(``VideoInit`` -> ``SampleFrames`` -> ``VideoDecode`` -> ...).
"""
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.fileio import get_local_path

from tessera_video.registry import DATASETS


def load_video_list(ann_file: str, prefix: str = '', delimiter: Optional[str] = None,
                    multi_class: bool = False, num_classes: Optional[int] = None) -> List[dict]:
    """Parse a ``path label`` list file into ``dict(filename, label)`` items; bad lines name the file and line."""
    data_list = []
    with open(ann_file, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            fields = line.split(delimiter)
            if len(fields) < 2:
                raise ValueError(f'{ann_file}, line {lineno}: expected "path label", got {line!r}')
            path, labels = fields[0], fields[1:]
            try:
                labels = [int(x) for x in labels]
            except ValueError:
                raise ValueError(f'{ann_file}, line {lineno}: labels must be integers, got {labels}') from None
            if not multi_class and len(labels) != 1:
                raise ValueError(f'{ann_file}, line {lineno}: {len(labels)} labels for a single-label dataset '
                                 f'(set multi_class=True)')
            bad = [x for x in labels if x < 0 or (num_classes is not None and x >= num_classes)]
            if bad:
                raise ValueError(f'{ann_file}, line {lineno}: label {bad[0]} outside [0, {num_classes})')
            label = np.array(labels, dtype=np.int64) if multi_class else labels[0]
            data_list.append(dict(filename=path if osp.isabs(path) else osp.join(prefix, path), label=label))
    return data_list


@DATASETS.register_module()
class VideoDataset(BaseDataset):
    """Videos listed in ``ann_file`` under ``data_prefix['video']``.

    Args:
        ann_file (str): The list file.
        pipeline (list): Transforms, starting with ``VideoInit``.
        data_prefix (dict): ``dict(video='folder')``; joined to relative paths.
        multi_class (bool): Several labels per line.
        num_classes (int, optional): Refuse labels outside ``[0, num_classes)``.
        delimiter (str, optional): Field separator (None: any whitespace).
        classes (Sequence[str], optional): Class names for ``metainfo``.
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (``data_root``, ``indices``, ``test_mode``...).

    Items: ``filename``, ``label`` (int, or an int array with ``multi_class``), ``sample_idx``.
    """

    def __init__(self, ann_file: str, pipeline: Sequence[Union[dict, Callable]] = (),
                 data_prefix: dict = dict(video=''), multi_class: bool = False, num_classes: Optional[int] = None,
                 delimiter: Optional[str] = None, classes: Optional[Sequence[str]] = None, **kwargs):
        self.multi_class, self.num_classes, self.delimiter = multi_class, num_classes, delimiter
        metainfo = kwargs.pop('metainfo', None) or ({} if classes is None else dict(classes=tuple(classes)))
        super().__init__(ann_file=ann_file, data_prefix=dict(data_prefix), pipeline=list(pipeline),
                         metainfo=metainfo, **kwargs)

    def load_data_list(self) -> List[dict]:
        with get_local_path(self.ann_file) as path:
            return load_video_list(path, self.data_prefix.get('video', ''), self.delimiter, self.multi_class,
                                   self.num_classes)

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['sample_idx'] = idx
        return info

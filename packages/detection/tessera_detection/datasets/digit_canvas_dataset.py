"""mmdet COCO dataset of digit canvases that generates its files on first use."""
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

from mmdet.datasets import CocoDataset
from mmengine.dist import barrier, get_dist_info

from tessera_detection.registry import DATA_GENERATORS, DATASETS

from .digit_canvas import DIGIT_CLASSES, SPLITS, DigitCanvas

# One colour per digit (RGB), used by mmdet's DetLocalVisualizer.
DIGIT_PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
                 (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]


def materialise_generation(generator: Union[dict, DigitCanvas, None], default_type: str,
                           data_root: Optional[str], default_classes: Sequence[str],
                           metainfo: Optional[dict]) -> Tuple[DigitCanvas, str, Optional[dict]]:
    """Build ``generator`` (default ``dict(type=default_type)``) and make sure its
    files exist under ``data_root`` (default its cache folder): rank 0 generates,
    other ranks wait.

    Returns:
        (generator, data_root, metainfo): ``metainfo`` names the generator's
        classes when they differ from ``default_classes`` and none was given.
    """
    if generator is None:
        generator = dict(type=default_type)
    if isinstance(generator, dict):
        generator = DATA_GENERATORS.build(generator)
    data_root = osp.expanduser(data_root) if data_root else generator.default_root()
    rank, _ = get_dist_info()
    if rank == 0:
        generator.ensure(data_root)
    barrier()
    if not generator.is_complete(data_root):
        raise RuntimeError(f'{data_root} does not hold a complete generation of {generator.params()}')
    if metainfo is None and tuple(generator.classes) != tuple(default_classes):
        metainfo = dict(classes=tuple(generator.classes))
    return generator, data_root, metainfo


@DATASETS.register_module()
class DigitCanvasDataset(CocoDataset):
    """A :class:`mmdet.datasets.CocoDataset` over the canvases of a generator.

    If ``data_root`` does not hold a complete generation with the generator's
    parameters, the generator writes it first (rank 0 only; other ranks wait),
    so a config using this dataset trains on a fresh machine.

    Args:
        generator (dict | DigitCanvas): Generator or its config
            (``DATA_GENERATORS`` registry), default ``dict(type='DigitCanvas')``.
        split (str): ``'train'`` or ``'val'``; picks ``ann_file`` and
            ``data_prefix`` unless they are given.
        data_root (str, optional): Folder of the COCO files; default the
            generator's cache folder ``~/.cache/tessera/datasets/digit_canvas_<hash>``
            (``$TESSERA_CACHE`` moves it). ``~`` is expanded.
        **kwargs: Everything else of :class:`mmdet.datasets.CocoDataset`
            (``pipeline``, ``filter_cfg``, ``indices``, ``test_mode``, ...).
    """
    METAINFO = dict(classes=DIGIT_CLASSES, palette=DIGIT_PALETTE)

    def __init__(self, generator: Union[dict, DigitCanvas, None] = None, split: str = 'train',
                 data_root: Optional[str] = None, ann_file: Optional[str] = None,
                 data_prefix: Optional[dict] = None, metainfo: Optional[dict] = None, **kwargs):
        if split not in SPLITS:
            raise ValueError(f'unknown split {split!r}; valid: {SPLITS}')
        self.generator, data_root, metainfo = materialise_generation(
            generator, 'DigitCanvas', data_root, self.METAINFO['classes'], metainfo)
        self.split = split
        super().__init__(data_root=data_root,
                         ann_file=ann_file or f'annotations/instances_{split}.json',
                         data_prefix=data_prefix or dict(img=f'{split}/'),
                         metainfo=metainfo, **kwargs)

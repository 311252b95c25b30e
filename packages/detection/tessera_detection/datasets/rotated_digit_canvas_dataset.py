"""DOTA-format dataset of rotated digit canvases that generates its files on first use."""
from typing import Optional, Union

from tessera_detection.registry import DATASETS

from .digit_canvas import SPLITS
from .digit_canvas_dataset import DIGIT_PALETTE, materialise_generation
from .dota_dataset import DOTADataset
from .rotated_digit_canvas import RotatedDigitCanvas


@DATASETS.register_module()
class RotatedDigitCanvasDataset(DOTADataset):
    """A :class:`DOTADataset` over the canvases of a :class:`RotatedDigitCanvas`.

    If ``data_root`` does not hold a complete generation with the generator's
    parameters, the generator writes it first (rank 0 only; other ranks wait).

    Args:
        generator (dict | RotatedDigitCanvas): Generator or its config
            (``DATA_GENERATORS``), default ``dict(type='RotatedDigitCanvas')``.
        split (str): ``'train'`` or ``'val'``: reads ``{split}/labelTxt/`` and
            ``{split}/images/``.
        data_root (str, optional): Default the generator's cache folder
            ``~/.cache/tessera/datasets/rotated_digit_canvas_<hash>``.
        **kwargs: The rest of :class:`DOTADataset` (``pipeline``, ``test_mode``, ...).
    """
    METAINFO = dict(classes=tuple(str(i) for i in range(10)), palette=DIGIT_PALETTE)

    def __init__(self, generator: Union[dict, RotatedDigitCanvas, None] = None, split: str = 'train',
                 data_root: Optional[str] = None, metainfo: Optional[dict] = None, **kwargs):
        if split not in SPLITS:
            raise ValueError(f'unknown split {split!r}; valid: {SPLITS}')
        self.generator, data_root, metainfo = materialise_generation(
            generator, 'RotatedDigitCanvas', data_root, self.METAINFO['classes'], metainfo)
        self.split = split
        kwargs.setdefault('ann_file', f'{split}/labelTxt/')
        kwargs.setdefault('data_prefix', dict(img_path=f'{split}/images/'))
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)

"""Packing of a re-ID sample with its foreground mask."""
import numpy as np
import torch

from tessera_core.datasets.transforms import PackClsInputs
from tessera_reid.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackReIDInputs(PackClsInputs):
    """:class:`PackClsInputs` plus the foreground mask: ``results[mask_key]`` (H, W) becomes the data sample's
    ``gt_mask`` float tensor (H, W) in [0, 1] (a uint8 {0, 1} or {0, 255} mask, or a float mask in [0, 1]).

    Args:
        meta_keys (Sequence[str]): As ``PackClsInputs``; re-ID configs add ``'camid'`` and ``'is_query'``.
        mask_key (str): Key of the mask in the results (CamStyle-ReID: ``'gt_mask'``).
        require_mask (bool): Raise an error naming the key when a sample has no mask (default: pack none).
    """

    def __init__(self, meta_keys=('sample_idx', 'img_shape'), mask_key: str = 'gt_mask', require_mask: bool = False):
        super().__init__(meta_keys=meta_keys)
        self.mask_key, self.require_mask = mask_key, require_mask

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if self.mask_key not in results:
            if self.require_mask:
                raise KeyError(f'PackReIDInputs: sample {results.get("sample_idx")} has no {self.mask_key!r}; '
                               'the dataset must provide foreground masks (CamStyleReID does)')
            return packed
        mask = np.asarray(results[self.mask_key])
        if mask.shape != tuple(results['img'].shape[:2]):
            raise ValueError(f'{self.mask_key} has shape {mask.shape}, the image {results["img"].shape[:2]}')
        mask = mask.astype(np.float32)
        if mask.max(initial=0) > 1:
            mask = mask / 255.0
        packed['data_samples'].set_field(torch.from_numpy(np.ascontiguousarray(mask)), 'gt_mask',
                                         dtype=torch.Tensor)
        return packed

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys}, mask_key={self.mask_key!r})'

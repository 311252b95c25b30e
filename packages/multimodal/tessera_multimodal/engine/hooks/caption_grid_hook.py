"""After validation/testing, write a grid of images with their generated and reference captions.

For captioners (:class:`ImageCaptioner`, LaBERT): reads ``pred_caption`` (and ``gt_captions`` / ``caption``,
``length_level`` when present) of the first ``num_images`` predicted samples and the raw ``inputs``
(C, H, W) uint8 of the batch, and saves ``<work_dir>/<out_file>`` (matplotlib, Agg backend).
"""
import os.path as osp
import textwrap
from typing import Optional

import numpy as np
from mmengine.hooks import Hook

from tessera_multimodal.registry import HOOKS


def _meta(sample, key):
    if isinstance(sample, dict):
        return sample.get(key)
    return sample.metainfo.get(key) if key in sample.metainfo_keys() else sample.get(key)


@HOOKS.register_module()
class CaptionGridHook(Hook):
    """Args:
        num_images (int): Images in the grid (the first of the loop).
        cols (int): Grid columns.
        out_file (str): File name under the work dir (test runs write ``test_<out_file>``).
        wrap (int): Characters per caption line.
    """
    priority = 'LOW'

    def __init__(self, num_images: int = 12, cols: int = 4, out_file: str = 'caption_grid.png', wrap: int = 34):
        if num_images < 1 or cols < 1:
            raise ValueError(f'num_images and cols must be >= 1, got {num_images}, {cols}')
        self.num_images, self.cols, self.out_file, self.wrap = num_images, cols, out_file, wrap
        self._items = []

    def _collect(self, data_batch, outputs):
        if len(self._items) >= self.num_images or not outputs:
            return
        inputs = data_batch['inputs'] if isinstance(data_batch, dict) else None
        for k, s in enumerate(outputs):
            if len(self._items) >= self.num_images:
                break
            img = None
            if inputs is not None and k < len(inputs):
                img = inputs[k].detach().cpu().numpy().transpose(1, 2, 0)
            gts = _meta(s, 'gt_captions') or ([_meta(s, 'caption')] if _meta(s, 'caption') else [])
            self._items.append(dict(img=img, pred=_meta(s, 'pred_caption') or '', gts=list(gts),
                                    level=_meta(s, 'length_level')))

    def before_val_epoch(self, runner) -> None:
        self._items = []

    before_test_epoch = before_val_epoch

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(data_batch, outputs)

    after_test_iter = after_val_iter

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.write(osp.join(runner.work_dir, self.out_file))

    def after_test_epoch(self, runner, metrics=None) -> None:
        self.write(osp.join(runner.work_dir, 'test_' + self.out_file))

    def write(self, path: str) -> Optional[str]:
        if not self._items:
            return None
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        n = len(self._items)
        cols = min(self.cols, n)
        rows = (n + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 4.2 * rows), squeeze=False)
        for ax in axes.ravel():
            ax.axis('off')
        for ax, it in zip(axes.ravel(), self._items):
            img = it['img']
            if img is not None:
                img = np.asarray(img)
                ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap='gray' if img.shape[-1] == 1 else None)
            lvl = '' if it['level'] is None else f' [L{it["level"]}]'
            text = 'pred' + lvl + ': ' + textwrap.fill(it['pred'], self.wrap)
            if it['gts']:
                text += '\nref: ' + textwrap.fill(it['gts'][0], self.wrap)
            ax.set_title(text, fontsize=7, loc='left')
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)
        return path

"""Draws a grid of test/val images with their predictions through mmengine's Visualizer."""
import math
import os.path as osp
from typing import List

import numpy as np
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer

from tessera_core.registry import HOOKS


@HOOKS.register_module()
class ClsVisualizationHook(Hook):
    """Saves one PNG per evaluation: the first ``num_images`` samples, upscaled,
    titled ``pred (gt)`` in green when right and red when wrong.

    The image goes through ``Visualizer.add_image`` (``vis_data/vis_image`` of
    the work dir with the default ``LocalVisBackend``) and is also written to
    ``{work_dir}/{out_file}``.
    """
    priority = 'LOW'

    def __init__(self, num_images: int = 16, scale: int = 4, out_file: str = 'predictions.png'):
        self.num_images, self.scale, self.out_file = num_images, scale, out_file
        self._samples: List[tuple] = []

    def _reset(self, runner, *args, **kwargs):
        self._samples = []

    before_val_epoch = before_test_epoch = _reset

    def _collect(self, runner, batch_idx, data_batch=None, outputs=None):
        if len(self._samples) >= self.num_images or outputs is None:
            return
        for img, sample in zip(data_batch['inputs'], outputs):
            if len(self._samples) >= self.num_images:
                break
            self._samples.append((img.cpu().numpy(), int(sample.pred_label), int(sample.gt_label)))

    after_val_iter = after_test_iter = _collect

    def _draw(self, runner, metrics=None):
        if not self._samples or runner.rank != 0:
            return
        classes = runner.test_dataloader.dataset.metainfo.get('classes') if hasattr(
            runner, 'test_dataloader') else None
        try:
            classes = runner.val_dataloader.dataset.metainfo.get('classes')
        except Exception:
            pass
        tile = self._samples[0][0].shape[1] * self.scale
        cols = int(math.ceil(math.sqrt(len(self._samples))))
        rows = int(math.ceil(len(self._samples) / cols))
        label_h = 14
        canvas = np.full((rows * (tile + label_h), cols * tile, 3), 255, dtype=np.uint8)
        texts, positions, colors = [], [], []
        for k, (img, pred, gt) in enumerate(self._samples):
            r, c = divmod(k, cols)
            chw = img if img.shape[0] in (1, 3) else img[:1]
            hwc = np.repeat(chw.transpose(1, 2, 0), 3 // chw.shape[0], axis=2).astype(np.uint8)
            big = np.kron(hwc, np.ones((self.scale, self.scale, 1), dtype=np.uint8))
            y0 = r * (tile + label_h) + label_h
            canvas[y0:y0 + tile, c * tile:(c + 1) * tile] = big[:tile, :tile]
            name = (lambda i: classes[i] if classes and i < len(classes) else str(i))
            texts.append(f'{name(pred)} ({name(gt)})')
            positions.append([c * tile + 2, r * (tile + label_h)])
            colors.append((0, 140, 0) if pred == gt else (200, 0, 0))
        vis = Visualizer.get_current_instance()
        vis.set_image(canvas)
        vis.draw_texts(texts, np.array(positions), colors=colors, font_sizes=8)
        drawn = vis.get_image()
        vis.add_image('predictions', drawn, step=runner.iter)
        import cv2
        cv2.imwrite(osp.join(runner.work_dir, self.out_file), drawn[..., ::-1])
        runner.logger.info(f'sample predictions saved to {osp.join(runner.work_dir, self.out_file)}')

    after_val_epoch = after_test_epoch = _draw

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
    """Saves one PNG per evaluation: ``num_images`` samples spread over the
    dataset (up to a quarter of them mistakes), upscaled, titled ``pred (gt)``
    in green when right and red when wrong.

    The image goes through ``Visualizer.add_image`` (``vis_data/vis_image`` of
    the work dir with the default ``LocalVisBackend``) and is also written to
    ``{work_dir}/{out_file}``.
    """
    priority = 'LOW'

    def __init__(self, num_images: int = 16, scale: int = 4, out_file: str = 'predictions.png'):
        self.num_images, self.scale, self.out_file = num_images, scale, out_file
        self._spread: List[tuple] = []
        self._wrong: List[tuple] = []
        self._stride = 1

    def _reset(self, runner, *args, **kwargs):
        self._spread, self._wrong = [], []
        loop = runner.test_loop if self._in_test(runner) else runner.val_loop
        self._stride = max(1, len(loop.dataloader.dataset) // self.num_images)

    @staticmethod
    def _in_test(runner) -> bool:
        return runner._test_loop is not None and not isinstance(runner._test_loop, dict)

    def before_val_epoch(self, runner):
        self._reset(runner)

    def before_test_epoch(self, runner):
        self._reset(runner)

    def _collect(self, runner, batch_idx, data_batch=None, outputs=None):
        """Keep samples spread evenly over the dataset, plus the first mistakes."""
        if outputs is None:
            return
        for img, sample in zip(data_batch['inputs'], outputs):
            pred, gt = int(sample.pred_label), int(sample.gt_label)
            item = (img.cpu().numpy(), pred, gt)
            if pred != gt and len(self._wrong) < self.num_images // 4:
                self._wrong.append(item)
            elif sample.get('sample_idx', 0) % self._stride == 0 and len(self._spread) < self.num_images:
                self._spread.append(item)

    after_val_iter = after_test_iter = _collect

    def _draw(self, runner, metrics=None):
        self._samples = (self._wrong + self._spread)[:self.num_images]
        if not self._samples or runner.rank != 0:
            return
        loop = runner.test_loop if self._in_test(runner) else runner.val_loop
        classes = loop.dataloader.dataset.metainfo.get('classes')
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

"""Saves one PNG grid of ground truth and detections on the first val/test images."""
import math
import os.path as osp
from typing import List, Optional, Sequence

import mmcv
import numpy as np
from mmdet.structures import DetDataSample
from mmdet.visualization import DetLocalVisualizer
from mmengine.hooks import Hook
from mmengine.structures import InstanceData
from mmengine.visualization import Visualizer

from tessera_detection.registry import HOOKS


@HOOKS.register_module()
class DetectionGridHook(Hook):
    """Draws the first ``num_images`` images of each evaluation with mmdet's
    :class:`~mmdet.visualization.DetLocalVisualizer`: every cell shows the image
    upscaled ``scale`` times, ground truth on the left, detections with score
    >= ``score_thr`` on the right.

    The grid goes through the runner's visualizer (``vis_data/vis_image/`` of
    the work dir with ``LocalVisBackend``) and is written to
    ``{work_dir}/{out_file}``.

    Args:
        num_images (int): Images drawn per evaluation.
        scale (int): Upscaling factor of the (small) images.
        score_thr (float): Minimum score of a drawn detection.
        cols (int, optional): Cells per row (default: about square).
        out_file (str): File name of the grid inside the work dir.
    """
    priority = 'LOW'

    def __init__(self, num_images: int = 8, scale: int = 4, score_thr: float = 0.3, cols: Optional[int] = None,
                 out_file: str = 'detections.png'):
        if num_images < 1 or scale < 1:
            raise ValueError(f'num_images and scale must be >= 1, got {num_images}, {scale}')
        self.num_images, self.scale, self.score_thr = num_images, scale, score_thr
        self.cols, self.out_file = cols, out_file
        self._samples: List[DetDataSample] = []

    def _reset(self, runner) -> None:
        self._samples = []

    def before_val_epoch(self, runner) -> None:
        self._reset(runner)

    def before_test_epoch(self, runner) -> None:
        self._reset(runner)

    def _collect(self, outputs: Optional[Sequence[DetDataSample]]) -> None:
        for sample in outputs or ():
            if len(self._samples) >= self.num_images:
                return
            self._samples.append(sample.cpu())

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(outputs)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(outputs)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._draw(runner)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._draw(runner)

    def _scaled(self, instances: InstanceData, factor: np.ndarray, keep=None) -> InstanceData:
        out = InstanceData()
        bboxes = instances.bboxes
        bboxes = bboxes.tensor if hasattr(bboxes, 'tensor') else bboxes
        bboxes = bboxes.numpy().astype(np.float32) * factor
        labels = instances.labels.numpy()
        if keep is not None:
            bboxes, labels = bboxes[keep], labels[keep]
        out.bboxes, out.labels = bboxes, labels
        if 'scores' in instances:
            scores = instances.scores.numpy()
            out.scores = scores[keep] if keep is not None else scores
        return out

    def draw_cell(self, vis: DetLocalVisualizer, sample: DetDataSample, classes, palette) -> np.ndarray:
        """``(H*scale, 2*W*scale + 2, 3)`` uint8 RGB: ground truth | detections."""
        img = mmcv.imread(sample.img_path, channel_order='rgb')
        big = mmcv.imrescale(img, self.scale, interpolation='nearest')
        halves = []
        if 'gt_instances' in sample:
            # gt boxes are in the coordinates of the resized input
            sx, sy = sample.metainfo.get('scale_factor', (1.0, 1.0))
            factor = np.array([self.scale / sx, self.scale / sy] * 2, dtype=np.float32)
            halves.append(vis._draw_instances(big.copy(), self._scaled(sample.gt_instances, factor), classes,
                                              palette))
        pred = sample.pred_instances
        keep = pred.scores.numpy() >= self.score_thr
        factor = np.full(4, self.scale, dtype=np.float32)  # predictions are in original coordinates
        halves.append(vis._draw_instances(big.copy(), self._scaled(pred, factor, keep), classes, palette))
        gap = np.full((big.shape[0], 2, 3), 128, dtype=np.uint8)
        return np.concatenate([halves[0], gap, halves[1]], axis=1) if len(halves) == 2 else halves[0]

    def _draw(self, runner) -> None:
        if not self._samples or runner.rank != 0:
            return
        current = Visualizer.get_current_instance()
        # ValLoop / TestLoop give the runner's visualizer the dataset's metainfo
        meta = getattr(current, 'dataset_meta', None) or {}
        vis = current if isinstance(current, DetLocalVisualizer) else DetLocalVisualizer(
            name=f'detection_grid_hook_{id(self)}')
        classes, palette = meta.get('classes'), meta.get('palette')
        cells = [self.draw_cell(vis, s, classes, palette) for s in self._samples]
        h = max(c.shape[0] for c in cells)
        w = max(c.shape[1] for c in cells)
        cols = self.cols or int(math.ceil(math.sqrt(len(cells) / 2)))  # cells are twice as wide as high
        rows = int(math.ceil(len(cells) / cols))
        pad = 16
        grid = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, 3), 255, dtype=np.uint8)
        for k, cell in enumerate(cells):
            r, c = divmod(k, cols)
            grid[r * (h + pad):r * (h + pad) + cell.shape[0], c * (w + pad):c * (w + pad) + cell.shape[1]] = cell
        vis.add_image('detections', grid, step=runner.iter)
        path = osp.join(runner.work_dir, self.out_file)
        mmcv.imwrite(grid[..., ::-1], path)
        runner.logger.info(f'ground truth | detections (score >= {self.score_thr}) of {len(cells)} images '
                           f'saved to {path}')

"""Writes a PNG grid of VAE reconstructions and prior samples after val/test."""
import math
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.visualization import Visualizer

from tessera_generative.registry import HOOKS


def _to_hwc_uint8(img: torch.Tensor) -> np.ndarray:
    """(C, H, W) uint8 in [0, 255] or float in [0, 1] -> (H, W, 3) uint8."""
    img = img.detach().cpu()
    if img.dtype != torch.uint8:
        img = (img.clamp(0, 1) * 255).round().to(torch.uint8)
    hwc = img.permute(1, 2, 0).numpy()
    return np.repeat(hwc, 3, axis=2) if hwc.shape[2] == 1 else hwc[..., :3]


@HOOKS.register_module()
class VAEVisualizationHook(Hook):
    """After every val/test epoch, draw one image with

    * ``num_images`` evaluation inputs evenly spaced over the evaluation set,
      each row followed by a row of their reconstructions (``pred_img`` of the
      model's predictions);
    * ``num_samples`` images ``model.sample(num_samples, generator)`` drawn from
      the prior with a generator seeded by ``seed`` (the same latents every time,
      so successive grids show how the decoder evolves).

    The grid goes through ``Visualizer.add_image`` (``vis_data/vis_image`` of the
    work dir with the default ``LocalVisBackend``) and to ``{work_dir}/{out_file}``.

    Args:
        num_images (int): Inputs (and reconstructions) shown.
        num_samples (int): Prior samples shown.
        ncols (int): Images per row.
        scale (int): Integer upscaling of every tile.
        seed (int): Seed of the prior-sample generator.
        out_file (str): File name in the work dir.
    """
    priority = 'LOW'

    def __init__(self, num_images: int = 16, num_samples: int = 16, ncols: int = 8, scale: int = 3,
                 seed: int = 0, out_file: str = 'vae_samples.png'):
        if min(num_images, num_samples) < 0 or max(num_images, num_samples) < 1 or ncols < 1 or scale < 1:
            raise ValueError(f'invalid VAEVisualizationHook sizes: num_images={num_images}, '
                             f'num_samples={num_samples}, ncols={ncols}, scale={scale}')
        self.num_images, self.num_samples, self.ncols = num_images, num_samples, ncols
        self.scale, self.seed, self.out_file = scale, seed, out_file
        self._inputs: List[np.ndarray] = []
        self._recons: List[np.ndarray] = []
        self._picks, self._seen = set(), 0

    def _reset(self, num_items: int) -> None:
        """Pick ``num_images`` evenly spaced positions of the evaluation stream."""
        self._inputs, self._recons, self._seen = [], [], 0
        count = min(self.num_images, num_items)
        self._picks = set(np.linspace(0, num_items - 1, count).round().astype(int).tolist()) if count else set()

    def before_val_epoch(self, runner) -> None:
        self._reset(len(runner.val_loop.dataloader.dataset))

    def before_test_epoch(self, runner) -> None:
        self._reset(len(runner.test_loop.dataloader.dataset))

    def _collect(self, runner, batch_idx, data_batch=None, outputs=None):
        if outputs is None:
            return
        for img, sample in zip(data_batch['inputs'], outputs):
            if self._seen in self._picks:
                if 'pred_img' not in sample:
                    raise KeyError('VAEVisualizationHook needs pred_img in the predictions (a VAE model)')
                self._inputs.append(_to_hwc_uint8(img))
                self._recons.append(_to_hwc_uint8(sample.pred_img))
            self._seen += 1

    after_val_iter = after_test_iter = _collect

    def _rows(self, tiles: List[np.ndarray]) -> List[List[np.ndarray]]:
        return [tiles[i:i + self.ncols] for i in range(0, len(tiles), self.ncols)]

    def render(self, inputs: List[np.ndarray], recons: List[np.ndarray],
               samples: List[np.ndarray]) -> np.ndarray:
        """Compose the grid as an (H, W, 3) uint8 RGB array (without captions)."""
        tiles = inputs + recons + samples
        if not tiles:
            raise ValueError('nothing to draw')
        h, w = tiles[0].shape[:2]
        th, tw = h * self.scale, w * self.scale
        rows: List[Optional[List[np.ndarray]]] = []
        for inp_row, rec_row in zip(self._rows(inputs), self._rows(recons)):
            rows += [inp_row, rec_row]
        if samples:
            rows.append(None)  # a blank separator row before the samples
            rows += self._rows(samples)
        canvas = np.full((len(rows) * th, self.ncols * tw, 3), 255, dtype=np.uint8)
        for r, row in enumerate(rows):
            for c, tile in enumerate(row or []):
                big = np.kron(tile, np.ones((self.scale, self.scale, 1), dtype=np.uint8))
                canvas[r * th:(r + 1) * th, c * tw:(c + 1) * tw] = big
        return canvas

    def _draw(self, runner, metrics=None):
        if runner.rank != 0:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'sample'):
            raise TypeError(f'VAEVisualizationHook needs a model with sample(num, generator); '
                            f'got {type(model).__name__}')
        samples = []
        if self.num_samples:
            generator = torch.Generator(device='cpu').manual_seed(self.seed)
            was_training = model.training
            model.eval()
            samples = [_to_hwc_uint8(s) for s in model.sample(self.num_samples, generator)]
            model.train(was_training)
        canvas = self.render(self._inputs, self._recons, samples)
        vis = Visualizer.get_current_instance()
        vis.set_image(canvas)
        th = self._inputs[0].shape[0] * self.scale if self._inputs else 0
        n_pair_rows = 2 * math.ceil(len(self._inputs) / self.ncols)
        if samples:
            vis.draw_texts('prior samples', np.array([2, n_pair_rows * th + 2]), colors=(200, 0, 0),
                           font_sizes=9)
        drawn = vis.get_image()
        vis.add_image('vae_samples', drawn, step=runner.iter)
        import cv2
        path = osp.join(runner.work_dir, self.out_file)
        cv2.imwrite(path, drawn[..., ::-1])
        runner.logger.info(f'VAE inputs / reconstructions (row pairs) and prior samples saved to {path}')

    after_val_epoch = after_test_epoch = _draw

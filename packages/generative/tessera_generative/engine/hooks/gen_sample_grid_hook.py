"""Fixed-noise sample grids of a GAN, written as PNG every N training iterations.

The same latent vectors every time (drawn once from ``seed``), so successive grids show how the
generator evolves: the picture users look at first. Both the raw and the EMA generator are drawn
when the model has an EMA (mmagic's ``sample_model='ema/orig'``), side by side.
"""
import os
import os.path as osp
from typing import List, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.visualization import Visualizer

from tessera_generative.registry import HOOKS


def make_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2, pad_value: int = 255) -> np.ndarray:
    """(N, C, H, W) in [0, 255] -> (rows*(H+p)+p, nrow*(W+p)+p, 3) uint8 RGB (grey repeated)."""
    imgs = images.detach().float().clamp(0, 255).round().to(torch.uint8).cpu().numpy()
    n, c, h, w = imgs.shape
    if c == 1:
        imgs = np.repeat(imgs, 3, axis=1)
    elif c != 3:
        raise ValueError(f'make_grid draws 1- or 3-channel images, got {c} channels')
    ncol = min(nrow, n)
    nrows = -(-n // ncol)
    grid = np.full((nrows * (h + padding) + padding, ncol * (w + padding) + padding, 3), pad_value, np.uint8)
    for i in range(n):
        r, col = divmod(i, ncol)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y:y + h, x:x + w] = imgs[i].transpose(1, 2, 0)
    return grid


@HOOKS.register_module()
class GenSampleGridHook(Hook):
    """Every ``interval`` training iterations (and after the last one), draw ``num_samples`` images
    from fixed noise and write ``{work_dir}/{out_dir}/iter_{k}.png``; also ``Visualizer.add_image``.

    Args:
        interval (int): Iterations between grids.
        num_samples (int): Images per grid.
        nrow (int): Images per row.
        scale (int): Integer upscaling of the grid (nearest neighbour).
        seed (int): Seed of the fixed noise.
        out_dir (str): Folder in the work dir.
    """
    priority = 'LOW'

    def __init__(self, interval: int = 100, num_samples: int = 64, nrow: int = 8, scale: int = 2,
                 seed: int = 2024, out_dir: str = 'samples'):
        if min(interval, num_samples, nrow, scale) < 1:
            raise ValueError(f'invalid GenSampleGridHook sizes: interval={interval}, num_samples={num_samples}, '
                             f'nrow={nrow}, scale={scale}')
        self.interval, self.num_samples, self.nrow, self.scale = interval, num_samples, nrow, scale
        self.seed, self.out_dir = seed, out_dir
        self._noise: Optional[torch.Tensor] = None
        self.written: List[str] = []

    def fixed_noise(self, noise_size: int) -> torch.Tensor:
        if self._noise is None or self._noise.shape != (self.num_samples, noise_size):
            g = torch.Generator().manual_seed(self.seed)
            self._noise = torch.randn(self.num_samples, noise_size, generator=g)
        return self._noise

    def render(self, model) -> np.ndarray:
        """The grid (H, W, 3) uint8: raw generator, and the EMA one to its right when there is one."""
        noise = self.fixed_noise(model.noise_size)
        was_training = model.training
        model.eval()
        try:
            choice = 'ema/orig' if getattr(model, 'with_ema_gen', False) else 'orig'
            samples = model(dict(noise=noise, sample_model=choice))
        finally:
            model.train(was_training)
        if choice == 'orig':
            grids = [make_grid(torch.stack([s.fake_img for s in samples]), self.nrow)]
        else:
            grids = [make_grid(torch.stack([s.orig.fake_img for s in samples]), self.nrow),
                     make_grid(torch.stack([s.ema.fake_img for s in samples]), self.nrow)]
        sep = np.full((grids[0].shape[0], 8, 3), 200, np.uint8)
        canvas = grids[0] if len(grids) == 1 else np.concatenate([grids[0], sep, grids[1]], axis=1)
        return np.kron(canvas, np.ones((self.scale, self.scale, 1), np.uint8))

    def write(self, runner, step: int) -> Optional[str]:
        if runner.rank != 0:
            return None
        from PIL import Image
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        canvas = self.render(model)
        folder = osp.join(runner.work_dir, self.out_dir)
        os.makedirs(folder, exist_ok=True)
        path = osp.join(folder, f'iter_{step}.png')
        Image.fromarray(canvas).save(path)
        try:
            Visualizer.get_current_instance().add_image('gen_samples', canvas, step=step)
        except RuntimeError:  # no visualizer outside a runner
            pass
        runner.logger.info(f'fixed-noise samples (left: generator, right: EMA if any) saved to {path}')
        self.written.append(path)
        return path

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        step = runner.iter + 1
        if self.every_n_train_iters(runner, self.interval) or step == runner.max_iters:
            self.write(runner, step)

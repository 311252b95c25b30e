"""The picture re-ID users look at first: for a few queries, the top-ranked gallery images, true matches framed
green and false ones red.

:class:`RankedGalleryHook` collects, during the validation / test loop, each sample's ``pred_feature``,
identity, camera, query flag and ``sample_idx``; after the loop it ranks the gallery for ``num_queries``
queries spread evenly over the query set (the same ones every time), with the Market-1501 rule (gallery images
of the query's identity and camera are skipped) when camera ids are present, and writes one PNG: a row per
query, the query first (framed blue) then its ``topk`` gallery images. Images come from the loop's dataset
(``get_data_info(sample_idx)``: ``img`` arrays of in-memory datasets, or ``img_path`` files read with mmcv
as BGR and shown as RGB). The PNG goes to ``<log_dir>/ranked_gallery/<mode>_<step>.png`` and, when
``add_to_visualizer`` is set, to the runner's Visualizer (``add_image``, i.e. its vis backends).
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook

from tessera_reid.registry import HOOKS

FRAME = dict(query=(40, 90, 230), true=(30, 180, 60), false=(220, 40, 40))


def _as_rgb(img: np.ndarray, from_bgr: bool) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 2 or img.shape[2] == 1:
        img = np.repeat(img.reshape(img.shape[0], img.shape[1], 1), 3, axis=2)
    elif from_bgr:
        img = img[..., ::-1]
    return np.ascontiguousarray(img[..., :3], dtype=np.uint8)


def draw_ranked_grid(rows: Sequence[Sequence[np.ndarray]], flags: Sequence[Sequence[Optional[bool]]],
                     cell: tuple = (64, 32), frame: int = 3, gap: int = 4) -> np.ndarray:
    """Rows of RGB images -> one (H, W, 3) uint8 grid. ``flags[r][c]``: ``None`` for the query (blue frame),
    ``True`` for a true match (green), ``False`` for a false one (red)."""
    from PIL import Image
    ch, cw = cell
    ncols = max(len(r) for r in rows)
    height = len(rows) * (ch + 2 * frame + gap) + gap
    width = ncols * (cw + 2 * frame + gap) + gap + gap   # an extra gap after the query column
    canvas = np.full((height, width, 3), 255, np.uint8)
    for r, (images, row_flags) in enumerate(zip(rows, flags)):
        y = gap + r * (ch + 2 * frame + gap)
        for c, (img, flag) in enumerate(zip(images, row_flags)):
            x = gap + c * (cw + 2 * frame + gap) + (gap if c > 0 else 0)
            colour = FRAME['query'] if flag is None else FRAME['true' if flag else 'false']
            canvas[y:y + ch + 2 * frame, x:x + cw + 2 * frame] = colour
            resized = np.asarray(Image.fromarray(img).resize((cw, ch), Image.NEAREST))
            canvas[y + frame:y + frame + ch, x + frame:x + frame + cw] = resized
    return canvas


@HOOKS.register_module()
class RankedGalleryHook(Hook):
    """Write a ranked-gallery grid after validation and/or testing.

    Args:
        num_queries (int): Query rows.
        topk (int): Gallery images per row.
        distance (str): ``'euclidean'`` or ``'cosine'`` (as :class:`ReIDMetric`).
        cell (tuple): (height, width) each image is drawn at.
        on_val, on_test (bool): Draw after the validation / test loop.
        add_to_visualizer (bool): Also send the grid to ``runner.visualizer.add_image``.
    """
    priority = 'LOW'

    def __init__(self, num_queries: int = 6, topk: int = 10, distance: str = 'euclidean', cell: tuple = (64, 32),
                 on_val: bool = True, on_test: bool = True, add_to_visualizer: bool = True):
        if num_queries < 1 or topk < 1:
            raise ValueError(f'num_queries and topk must be >= 1, got {num_queries} and {topk}')
        if distance not in ('euclidean', 'cosine'):
            raise ValueError(f"invalid distance {distance!r}; valid: ('euclidean', 'cosine')")
        self.num_queries, self.topk, self.distance, self.cell = num_queries, topk, distance, tuple(cell)
        self.on_val, self.on_test, self.add_to_visualizer = on_val, on_test, add_to_visualizer
        self._records: List[dict] = []
        self.last_path: Optional[str] = None

    # ------------------------------------------------------------------ collection
    def _start(self, runner) -> None:
        self._records = []

    def _collect(self, outputs) -> None:
        for sample in outputs:
            meta = sample.metainfo
            if 'sample_idx' not in meta or 'is_query' not in meta:
                raise KeyError('RankedGalleryHook needs sample_idx and is_query in the data samples\' metainfo '
                               '(PackClsInputs meta_keys)')
            self._records.append(dict(feat=sample.pred_feature.detach().cpu().float(),
                                      pid=int(sample.gt_label.reshape(-1)[0]), camid=meta.get('camid'),
                                      is_query=bool(meta['is_query']), idx=int(meta['sample_idx'])))

    def before_val_epoch(self, runner) -> None:
        self._start(runner)

    def before_test_epoch(self, runner) -> None:
        self._start(runner)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.on_val:
            self._collect(outputs)

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.on_test:
            self._collect(outputs)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self.on_val:
            self._draw(runner, runner.val_dataloader.dataset, 'val', runner.iter)

    def after_test_epoch(self, runner, metrics=None) -> None:
        if self.on_test:
            self._draw(runner, runner.test_dataloader.dataset, 'test', 0)

    # ------------------------------------------------------------------ drawing
    def rank(self):
        """``[(query record, [(gallery record, is true match), ...]), ...]`` for the chosen queries."""
        query = [r for r in self._records if r['is_query']]
        gallery = [r for r in self._records if not r['is_query']]
        if not query or not gallery:
            return []
        picks = np.unique(np.linspace(0, len(query) - 1, min(self.num_queries, len(query))).round().astype(int))
        gf = torch.stack([r['feat'] for r in gallery]).double()
        result = []
        for i in picks:
            q = query[i]
            qf = q['feat'].double()[None]
            if self.distance == 'cosine':
                dist = 1 - torch.nn.functional.normalize(qf, dim=1) @ torch.nn.functional.normalize(gf, dim=1).t()
            else:
                dist = (qf - gf).pow(2).sum(1)[None]
            order = torch.sort(dist[0], stable=True).indices.tolist()
            ranked = []
            for j in order:
                g = gallery[j]
                if q['camid'] is not None and g['pid'] == q['pid'] and g['camid'] == q['camid']:
                    continue   # Market-1501 rule: not counted, not shown
                ranked.append((g, g['pid'] == q['pid']))
                if len(ranked) == self.topk:
                    break
            result.append((q, ranked))
        return result

    def _draw(self, runner, dataset, mode: str, step: int) -> None:
        ranked = self.rank()
        if not ranked:
            return

        def image(record):
            info = dataset.get_data_info(record['idx'])
            if info.get('img') is not None:
                return _as_rgb(info['img'], from_bgr=False)
            import mmcv
            return _as_rgb(mmcv.imread(info['img_path']), from_bgr=True)

        rows = [[image(q)] + [image(g) for g, _ in gal] for q, gal in ranked]
        flags = [[None] + [hit for _, hit in gal] for _, gal in ranked]
        grid = draw_ranked_grid(rows, flags, self.cell)
        folder = osp.join(runner.log_dir, 'ranked_gallery')
        os.makedirs(folder, exist_ok=True)
        from PIL import Image
        self.last_path = osp.join(folder, f'{mode}_{step}.png')
        Image.fromarray(grid).save(self.last_path)
        if self.add_to_visualizer and getattr(runner, 'visualizer', None) is not None:
            runner.visualizer.add_image(f'ranked_gallery_{mode}', grid, step=step)
        runner.logger.info(f'RankedGalleryHook: wrote {self.last_path}')

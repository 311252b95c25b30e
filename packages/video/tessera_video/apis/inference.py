"""Output adapter of video recognisers: clips in, clip labels and scores out."""
import os
from typing import Any, List, Tuple

import numpy as np
from mmengine.config import Config

from tessera_core.apis import ClsOutputAdapter, register_output_adapter
from tessera_core.apis.classification_adapter import upscaled
from tessera_core.apis.output_adapters import to_rgb
from tessera_video.datasets.moving_digits import DIRECTIONS


def _is_frame(x: Any) -> bool:
    """A path, an (H, W) array or an (H, W, C) array with C in 1, 3, 4."""
    if isinstance(x, (str, os.PathLike)):
        return True
    return isinstance(x, np.ndarray) and (x.ndim == 2 or (x.ndim == 3 and x.shape[-1] in (1, 3, 4)))


class VideoOutputAdapter(ClsOutputAdapter):
    """Inputs: a clip, i.e. a (T, H, W) or (T, H, W, C) array or a list of T frames
    (paths or (H, W[, C]) arrays), or a list of clips. Result: the clip's
    classification (``pred_scores`` (K,), ``pred_label``, ``pred_score``, ``pred_class``)."""

    def split_inputs(self, inputs: Any) -> Tuple[List[Any], bool]:
        if isinstance(inputs, np.ndarray):
            return [inputs], True
        inputs = list(inputs)
        if inputs and all(_is_frame(x) for x in inputs):
            return [inputs], True
        return inputs, False

    def load(self, item: Any, loader) -> dict:
        """A clip -> ``dict(img=(T, H, W[, C]) uint8, img_shape, num_frames)``."""
        if isinstance(item, np.ndarray) and item.ndim not in (3, 4):
            raise ValueError(f'a clip must be (T, H, W) or (T, H, W, C), got shape {item.shape}')
        frames = [loader.read(frame) for frame in item]
        if not frames:
            raise ValueError('a clip needs at least one frame')
        shapes = {f.shape for f in frames}
        if len(shapes) != 1:
            raise ValueError(f'the frames of a clip must share one shape, got {sorted(shapes)}')
        clip = np.stack(frames)
        return dict(img=clip, img_shape=clip.shape[1:3], num_frames=len(frames))

    def dataset_meta(self, cfg: Config) -> dict:
        """Adds the direction names of ``MovingDigits`` (set per instance, not in ``METAINFO``)."""
        meta = super().dataset_meta(cfg)
        dataset = cfg.get('test_dataloader', {}).get('dataset', {})
        if 'classes' not in meta and str(dataset.get('type', '')).split('.')[-1] == 'MovingDigits':
            meta['classes'] = tuple(name for name, _ in DIRECTIONS[:dataset.get('num_directions', 4)])
        return meta

    def draw(self, visualizer, image: np.ndarray, result: dict, dataset_meta: dict) -> np.ndarray:
        """The T frames side by side (enlarged), captioned ``<class>: <score>``."""
        strip = np.concatenate([upscaled(to_rgb(frame), min_size=96) for frame in image], axis=1)
        visualizer.set_image(strip)
        text = f'{result.get("pred_class", result["pred_label"])}: {result["pred_score"]:.2f}'
        visualizer.draw_texts(text, np.array([4, 4]), colors='white', font_sizes=12, vertical_alignments='top',
                              bboxes=dict(facecolor='black', alpha=0.6, pad=2))
        return visualizer.get_image()


register_output_adapter('tessera_video', VideoOutputAdapter())

"""The test pipeline of a config, made to accept image paths and arrays.

Configs of in-memory datasets (embedded digits, Fashion-MNIST, moving digits)
start their test pipeline at ``PackClsInputs``: the dataset hands over arrays.
File-based configs (detection, Market-1501) start with ``LoadImageFromFile``.
:func:`build_inference_pipeline` drops every loading transform (images and
annotations) and returns a :class:`LoadInferenceImage` in place of the image
loader, with the loader's colour type, followed by the rest of the pipeline.
"""
import os
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import Compose
from mmengine.config import Config

_COLOR_CHANNELS = {'color': 3, 'grayscale': 1, 'unchanged': None}


class LoadInferenceImage:
    """Read ``results['img']`` (a path or an array) into ``img`` (H, W[, C]) uint8.

    Arrays are taken as they are (OpenCV's BGR order for colour, as the file
    loaders produce); paths are decoded with ``color_type`` and
    ``imdecode_backend``. Both are then brought to ``channels``: 1 gives (H, W),
    3 gives BGR (H, W, 3), ``None`` keeps the channels (an alpha channel is
    dropped). Sets ``img``, ``img_shape``, ``ori_shape`` and ``img_path`` (paths).
    """

    def __init__(self, channels: Optional[int] = None, color_type: str = 'unchanged',
                 imdecode_backend: str = 'cv2'):
        if channels not in (None, 1, 3):
            raise ValueError(f'channels must be None, 1 or 3, got {channels}')
        self.channels, self.color_type, self.imdecode_backend = channels, color_type, imdecode_backend

    def read(self, image: Union[str, os.PathLike, np.ndarray]) -> np.ndarray:
        """A path or an array -> (H, W[, C]) uint8 array with ``channels``."""
        if isinstance(image, (str, os.PathLike)):
            path = os.fspath(image)
            if not osp.isfile(path):
                raise FileNotFoundError(f'image file not found: {path}')
            try:
                with open(path, 'rb') as f:
                    img = mmcv.imfrombytes(f.read(), flag=self.color_type, backend=self.imdecode_backend)
            except Exception as err:
                raise ValueError(f'cannot decode image file {path}: {err}') from err
            if img is None:
                raise ValueError(f'cannot decode image file {path} (not an image format OpenCV reads)')
        elif isinstance(image, np.ndarray):
            img = np.array(image)  # a writable copy: transforms may edit it in place
        else:
            raise TypeError(f'an image must be a path or a numpy array, got {type(image).__name__}')
        return self._to_channels(img)

    def _to_channels(self, img: np.ndarray) -> np.ndarray:
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        if img.ndim == 3 and img.shape[-1] == 4:
            img = img[..., :3]
        if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[-1] != 3):
            raise ValueError(f'an image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got shape {img.shape}')
        if img.dtype != np.uint8:
            img = np.clip(img, 0, 255).astype(np.uint8)
        if self.channels == 1 and img.ndim == 3:
            img = mmcv.bgr2gray(img)
        elif self.channels == 3 and img.ndim == 2:
            img = mmcv.gray2bgr(img)
        return np.ascontiguousarray(img)

    def __call__(self, results: dict) -> dict:
        image = results['img']
        if isinstance(image, (str, os.PathLike)):
            results['img_path'] = os.fspath(image)
        img = self.read(image)
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(channels={self.channels}, color_type={self.color_type!r})'


def test_pipeline_cfg(cfg: Config) -> list:
    """The test pipeline of ``cfg``: ``test_dataloader.dataset.pipeline`` (through
    dataset wrappers) or else the top-level ``test_pipeline``."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    while 'pipeline' not in dataset and isinstance(dataset.get('dataset'), dict):
        dataset = dataset['dataset']
    pipeline = dataset.get('pipeline', cfg.get('test_pipeline'))
    if pipeline is None:
        raise ValueError('the config has no test pipeline (test_dataloader.dataset.pipeline or test_pipeline)')
    return list(pipeline)


def _short_type(transform: dict) -> str:
    t = transform.get('type', '')
    return (t if isinstance(t, str) else t.__name__).split('.')[-1]


def build_inference_pipeline(cfg: Config, skip: Sequence[str] = ()) -> Tuple[LoadInferenceImage, Compose]:
    """``(loader, pipeline)`` for ``cfg``, without the transforms named in ``skip``;
    build inside the config's default scope.

    Without an image loader in the pipeline, the loader's ``channels`` follow
    ``model.backbone.in_channels`` when the config states it (1 or 3).
    """
    loader, rest = None, []
    for transform in test_pipeline_cfg(cfg):
        name = _short_type(transform)
        if name.startswith('LoadImage'):
            color_type = transform.get('color_type', 'color')
            loader = LoadInferenceImage(_COLOR_CHANNELS.get(color_type), color_type,
                                        transform.get('imdecode_backend', 'cv2'))
        elif not name.startswith('Load') and name not in skip:
            rest.append(transform)
    if loader is None:
        in_channels = cfg.get('model', {}).get('backbone', {}).get('in_channels')
        loader = LoadInferenceImage(in_channels if in_channels in (1, 3) else None)
    return loader, Compose(rest)

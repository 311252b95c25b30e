"""Run a model of :func:`get_model` on images (or clips) through its config's test pipeline."""
import os
import os.path as osp
from typing import Any, Optional, Union

import mmcv
import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.visualization import Visualizer
from torch import nn

from . import classification_adapter, segmentation_adapter  # noqa: F401  (register core's adapters)
from .inference_pipeline import build_inference_pipeline
from .output_adapters import get_output_adapter


def inference_model(model: nn.Module, inputs: Any, visualize: bool = False,
                    out_file: Optional[Union[str, os.PathLike]] = None) -> Union[dict, list]:
    """Predict on one input or a list of inputs (the model is put in eval mode).

    Args:
        model: A model of :func:`get_model` (it needs ``model.cfg``).
        inputs: What the model's task takes: for images a path or an (H, W) /
            (H, W, C) uint8 array (BGR, as OpenCV reads it), or a list of them; for
            video a (T, H, W[, C]) clip or a list of frames (see the task's adapter).
        visualize (bool): Also return the drawing of each result (RGB uint8) under
            ``result['visualization']``.
        out_file (str, optional): Write the drawing there (PNG); with a list of
            inputs, ``<stem>_<i><ext>`` for input ``i``.

    Returns:
        dict or list of dict: The result of the task's output adapter, e.g. for
        classification ``pred_scores`` (K,), ``pred_label``, ``pred_score``, ``pred_class``.
    """
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise ValueError('inference_model needs a model of tessera_core.apis.get_model (with model.cfg)')
    scope = cfg.get('default_scope', 'tessera_core')
    adapter = get_output_adapter(type(model).__name__, scope)
    items, single = adapter.split_inputs(inputs)
    if not items:
        raise ValueError('inference_model got an empty list of inputs')
    dataset_meta = getattr(model, 'dataset_meta', None) or {}
    with DefaultScope.overwrite_default_scope(scope):
        loader, pipeline = build_inference_pipeline(cfg, adapter.skip_transforms)
        loaded = [adapter.load(item, loader) for item in items]
        images = [data['img'] for data in loaded]
        batch = pseudo_collate([pipeline(data) for data in loaded])
        model.eval()
        with torch.no_grad():
            samples = model.test_step(batch)
    results = [adapter.to_result(sample, dataset_meta) for sample in samples]
    if visualize or out_file is not None:
        _draw(adapter, images, results, dataset_meta, visualize, out_file, single)
    return results[0] if single else results


def _draw(adapter, images, results, dataset_meta, visualize, out_file, single) -> None:
    visualizer = Visualizer(name='tessera-inference')  # not the global instance: no side effects
    try:
        for i, (image, result) in enumerate(zip(images, results)):
            drawing = adapter.draw(visualizer, image, result, dataset_meta)
            if visualize:
                result['visualization'] = drawing
            if out_file is not None:
                path = os.fspath(out_file)
                if not single:
                    stem, ext = osp.splitext(path)
                    path = f'{stem}_{i}{ext or ".png"}'
                if not mmcv.imwrite(drawing[..., ::-1], path):
                    raise OSError(f'could not write the visualisation to {path}')
    finally:
        visualizer.close()

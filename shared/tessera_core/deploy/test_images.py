"""Real test images of a config, as raw stacked batches for checking an exported classifier.

The batches come from the config's ``test_dataloader`` (its dataset and test pipeline, run in
the calling process), stacked to float tensors of the pixel values the pipeline delivers, i.e.
what the data preprocessor receives and what an exported :class:`ClassifierInferenceGraph` takes.
"""
import copy
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner


def build_test_loader(cfg: Config):
    """The config's test dataloader with workers off (deterministic order, no extra processes).

    Raises:
        KeyError: If the config has no ``test_dataloader``.
    """
    loader_cfg = cfg.get('test_dataloader')
    if loader_cfg is None:
        raise KeyError('the config has no test_dataloader: the ONNX check needs its real test images')
    loader_cfg = copy.deepcopy(loader_cfg)
    loader_cfg['num_workers'] = 0
    loader_cfg['persistent_workers'] = False
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'tessera_core')):
        return Runner.build_dataloader(loader_cfg)


def _labels(data_samples) -> Optional[torch.Tensor]:
    labels = [getattr(s, 'gt_label', None) for s in data_samples or []]
    if not labels or any(label is None for label in labels):
        return None
    return torch.cat([label.reshape(-1)[:1] for label in labels])


Batch = Tuple[torch.Tensor, List, Optional[torch.Tensor]]


def raw_test_batches(loader, num_images: Optional[int] = None,
                     size: Optional[Sequence[int]] = None) -> Iterator[Batch]:
    """Yield ``(image (N, C, H, W) float, data_samples, labels (N,) or None)`` from ``loader``.

    Args:
        loader: A dataloader of ``dict(inputs=[(C, H, W) tensors], data_samples=[...])`` batches.
        num_images (int, optional): Stop after this many images (None: the whole test set).
        size (Sequence[int], optional): (H, W) to resize every image to (bilinear) when the
            export's input size differs from the dataset's.
    """
    seen = 0
    for batch in loader:
        images = torch.stack([torch.as_tensor(x) for x in batch['inputs']]).float()
        samples = list(batch.get('data_samples') or [])
        if num_images is not None:
            keep = num_images - seen
            images, samples = images[:keep], samples[:keep]
        if size is not None and tuple(images.shape[-2:]) != tuple(size):
            images = F.interpolate(images, size=tuple(size), mode='bilinear', align_corners=False)
        seen += images.size(0)
        yield images, samples, _labels(samples)
        if num_images is not None and seen >= num_images:
            return

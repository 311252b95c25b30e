"""How each task feeds a model and reads its predictions: the output-adapter registry.

:func:`tessera_core.apis.inference_model` is task-agnostic; an
:class:`OutputAdapter` tells it how to split the user's inputs into samples,
how to turn one prediction data sample into a plain result dict and how to draw
it. Task packages register theirs from ``tessera_<task>/apis/`` under their
scope (or a model class name)::

    register_output_adapter('tessera_reid', ReIDOutputAdapter())

Lookup order: the model's class name, then its config's ``default_scope``;
when a scope has no adapter yet, the module ``<scope>.apis`` is imported by
name (tessera-core never imports a task package statically) and looked up
again. Models without an adapter get the classification adapter of core.
"""
import importlib
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from mmengine.config import Config

from .dataset_meta import dataset_meta_of

_ADAPTERS: Dict[str, 'OutputAdapter'] = {}


class OutputAdapter:
    """Base adapter: image inputs, the image itself as drawing. Subclasses override
    :meth:`to_result` and as needed :meth:`draw`, :meth:`split_inputs`, :meth:`load`,
    :meth:`dataset_meta`; ``skip_transforms`` names test-pipeline transforms that
    need ground truth (loaders ``Load*`` are always replaced or dropped).
    """
    skip_transforms: Tuple[str, ...] = ()

    def split_inputs(self, inputs: Any) -> Tuple[List[Any], bool]:
        """``(items, single)``: one image (path or (H, W[, C]) array) or a list of them."""
        if isinstance(inputs, (list, tuple)):
            return list(inputs), False
        return [inputs], True

    def dataset_meta(self, cfg: Config) -> dict:
        """Metainfo (``classes``, ...) of the config's test dataset."""
        return dataset_meta_of(cfg)

    def load(self, item: Any, loader) -> dict:
        """Pipeline input of one item, read by ``loader`` (a :class:`LoadInferenceImage`)."""
        return loader(dict(img=item))

    def to_result(self, data_sample, dataset_meta: dict) -> dict:
        """Plain result (numpy arrays and Python scalars) of one predicted data sample."""
        raise NotImplementedError(f'{type(self).__name__} must implement to_result()')

    def draw(self, visualizer, image: np.ndarray, result: dict, dataset_meta: dict) -> np.ndarray:
        """RGB uint8 drawing of ``result`` on ``image`` (the loaded input, BGR or grey)."""
        visualizer.set_image(to_rgb(image))
        return visualizer.get_image()


def to_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 1), BGR (H, W, 3) or BGRA (H, W, 4) -> RGB uint8 (H, W, 3)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    image = image[..., 2::-1]
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)


def register_output_adapter(key: str, adapter: OutputAdapter, force: bool = False) -> OutputAdapter:
    """Register ``adapter`` for a scope (``'tessera_reid'``) or a model class name (``'ReIDModel'``)."""
    if not isinstance(adapter, OutputAdapter):
        raise TypeError(f'adapter must be an OutputAdapter instance, got {type(adapter).__name__}')
    if key in _ADAPTERS and not force and type(_ADAPTERS[key]) is not type(adapter):
        raise KeyError(f'an output adapter is already registered for {key!r}: {type(_ADAPTERS[key]).__name__}')
    _ADAPTERS[key] = adapter
    return adapter


def registered_output_adapters() -> Dict[str, OutputAdapter]:
    """A copy of the registry, ``{key: adapter}``."""
    return dict(_ADAPTERS)


def get_output_adapter(model_type: str, scope: Optional[str] = None) -> OutputAdapter:
    """The adapter of a model class name in ``scope`` (see the module docstring for the order)."""
    if model_type in _ADAPTERS:
        return _ADAPTERS[model_type]
    if scope and scope not in _ADAPTERS and scope != 'tessera_core':
        try:
            importlib.import_module(f'{scope}.apis')
        except ModuleNotFoundError as err:
            if err.name not in (scope, f'{scope}.apis'):
                raise
        if model_type in _ADAPTERS:
            return _ADAPTERS[model_type]
    if scope in _ADAPTERS:
        return _ADAPTERS[scope]
    if 'tessera_core' not in _ADAPTERS:
        from . import classification_adapter  # noqa: F401  (registers the default)
    return _ADAPTERS['tessera_core']


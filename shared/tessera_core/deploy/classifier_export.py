"""Export a classifier config + checkpoint to ONNX and check ONNX Runtime against PyTorch.

The procedure behind ``mim run tessera-core export CONFIG CHECKPOINT --format onnx`` (and, with
``output='features'``, ``mim run tessera-reid export``: a re-ID model's embeddings instead of scores):

1. build the model from the config and load the checkpoint through mmengine's loader (the
   safe loader that ``import tessera_core`` installs);
2. copy it and call ``switch_to_deploy()`` on every module that has one (BatchNorm folded);
3. export :class:`ClassifierInferenceGraph` (raw image -> softmax scores) of the copy with a
   dynamic batch axis; when that export fails or the graph turns out to depend on the batch size
   (ORT on a batch differs from ORT image by image), export again with batch 1 and check image
   by image;
4. run ONNX Runtime and the *unfolded* PyTorch model (its data preprocessor and
   ``mode='predict'``, as ``mim test`` runs it) on the real images of the config's test
   dataloader: the export passes when every score is within the tolerance (1e-4) and the top-1
   class is the same on every image. With ``output='features'`` the graph returns the model's
   ``mode='tensor'`` embeddings, the reference is the ``pred_feature`` that ``mode='predict'``
   attaches, and every feature must be within the tolerance (no arg-max check).
"""
import copy
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

from .deploy_mode import switch_to_deploy
from .inference_graph import ClassifierInferenceGraph
from .onnx_check import ScoreComparison, compare_scores, ort_session, run_session
from .onnx_export import DEFAULT_OPSET, UnexportableLayerError, export_onnx
from .test_images import build_test_loader, raw_test_batches


@dataclass
class ExportReport:
    """What :func:`export_classifier` did; ``passed`` is the check's verdict."""
    path: str
    opset: int
    output: str
    input_shape: Tuple[int, ...]
    dynamic_batch: bool
    switched: List[Tuple[str, str]] = field(default_factory=list)
    dataset: str = ''
    comparison: Optional[ScoreComparison] = None

    @property
    def passed(self) -> bool:
        return self.comparison is not None and self.comparison.passed


def build_classifier(cfg: Config, checkpoint: Optional[str]) -> torch.nn.Module:
    """The config's model in eval mode, with the checkpoint's weights when given (strict; a checkpoint that
    does not fit raises ``ValueError`` naming the file and the first mismatches)."""
    from tessera_core.registry import MODELS
    # Under a task package's default scope mmengine imports ``<scope>.registry`` and builds from it.
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'tessera_core')):
        model = MODELS.build(cfg.model)
    if checkpoint is not None:
        try:
            load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
        except RuntimeError as error:   # strict loading: missing / unexpected keys, shape mismatches
            lines = [line for line in str(error).splitlines() if line.strip()]
            raise ValueError(f'checkpoint {checkpoint} does not fit the model of the config '
                             f'({cfg.model.get("type")}): ' + ' | '.join(line[:200] for line in lines[:3])) from error
    return model.eval()


# output kind -> the data-sample field ``mode='predict'`` fills with it
OUTPUT_FIELDS = {'scores': 'pred_score', 'features': 'pred_feature'}


def torch_scores(model: torch.nn.Module, image: torch.Tensor, data_samples,
                 field: str = 'pred_score') -> torch.Tensor:
    """Scores (N, K) (or the data samples' ``field``, e.g. embeddings ``pred_feature`` (N, C)) of the
    PyTorch path ``mim test`` runs: data preprocessor, then ``mode='predict'``."""
    data = model.data_preprocessor(dict(inputs=list(image), data_samples=list(data_samples) or None), False)
    predictions = model(data['inputs'], data['data_samples'], mode='predict')
    return torch.stack([p.get(field) for p in predictions])


def _batch_independent(session, images: torch.Tensor, tolerance: float) -> bool:
    """Does ORT on the batch ``images`` give what it gives image by image?"""
    try:
        batched = run_session(session, images)
        single = np.concatenate([run_session(session, images[i:i + 1]) for i in range(images.size(0))])
    except Exception:  # noqa: BLE001  (a shape error inside ORT: the batch size is baked in)
        return False
    return batched.shape == single.shape and float(np.abs(batched - single).max()) <= tolerance


def export_classifier(config, checkpoint: Optional[str], out: str, shape: Optional[Sequence[int]] = None,
                      num_images: Optional[int] = None, opset: int = DEFAULT_OPSET, tolerance: float = 1e-4,
                      output: str = 'scores', log: Callable[[str], None] = print) -> ExportReport:
    """Export ``config`` + ``checkpoint`` to ``out`` (ONNX) and check it on the test images.

    Args:
        config (str | Config): Classifier config (``test_dataloader`` required).
        checkpoint (str, optional): Weights; None keeps the config's initialisation.
        out (str): Output ``.onnx`` path.
        shape (Sequence[int], optional): Export input (C, H, W); default: the test images' shape.
            Test images are resized to (H, W) when it differs; C must match.
        num_images (int, optional): Check on the first ``num_images`` test images (None: all).
        opset (int): ONNX opset.
        tolerance (float): Largest allowed |ORT - PyTorch| of a score (or feature).
        output (str): ``'scores'`` (softmax class scores, top-1 checked) or ``'features'`` (the
            ``mode='tensor'`` embeddings of a model whose ``predict`` attaches ``pred_feature``).
        log: Progress printer.

    Returns:
        ExportReport: ``report.passed`` tells whether the check passed.

    Raises:
        UnexportableLayerError: A layer cannot be expressed in ONNX (named in the message).
        ImportError: onnx / onnxruntime missing (names ``pip install 'tessera-core[deploy]'``).
        ValueError: ``shape`` has a different number of channels than the test images, or ``output``
            is unknown.
    """
    if output not in OUTPUT_FIELDS:
        raise ValueError(f'invalid output {output!r}; valid: {sorted(OUTPUT_FIELDS)}')
    field = OUTPUT_FIELDS[output]
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    model = build_classifier(cfg, checkpoint)
    deployed = copy.deepcopy(model)
    switched = switch_to_deploy(deployed)
    graph = ClassifierInferenceGraph(deployed, softmax=output == 'scores').eval()

    loader = build_test_loader(cfg)
    dataset = type(loader.dataset).__name__
    first_images = next(raw_test_batches(loader, num_images=3))[0]
    channels, height, width = first_images.shape[1:]
    if shape is not None:
        if len(shape) != 3:
            raise ValueError(f'shape must be C H W, got {tuple(shape)}')
        if shape[0] != channels:
            raise ValueError(f'--shape has {shape[0]} channels but the test images of {dataset} have {channels}')
        height, width = int(shape[1]), int(shape[2])
    size = (height, width)
    if tuple(first_images.shape[-2:]) != size:
        log(f'test images resized from {tuple(first_images.shape[-2:])} to {size} (bilinear)')
        first_images = torch.nn.functional.interpolate(first_images, size=size, mode='bilinear',
                                                       align_corners=False)
    input_shape = (channels, height, width)

    folded = ', '.join(f'{path or "<model>"} ({name})' for path, name in switched)
    log(f'switch_to_deploy(): {folded or "no module has one"}')
    try:
        export_onnx(graph, (first_images[:1],), out, output_names=(output,), dynamic_batch=True, opset=opset)
        session = ort_session(out)
        dynamic = first_images.size(0) < 2 or _batch_independent(session, first_images, tolerance)
        why = 'the exported graph depends on the batch size (e.g. per-sample kernels as one grouped conv)'
    except UnexportableLayerError as error:
        dynamic, why = False, f'no export with a dynamic batch axis ({error})'
    if not dynamic:
        log(f'{why}: exporting with a fixed batch of 1')
        export_onnx(graph, (first_images[:1],), out, output_names=(output,), dynamic_batch=False, opset=opset)
        session = ort_session(out)
    what = 'scores (N, K) softmax' if output == 'scores' else 'embeddings (N, C)'
    log(f'exported {out} (opset {opset}): image (N, {channels}, {height}, {width}) float pixels -> {what}; '
        f'batch axis {"dynamic" if dynamic else "fixed to 1"}')

    def run_ort(image):
        if dynamic:
            return run_session(session, image)
        return np.concatenate([run_session(session, image[i:i + 1]) for i in range(image.size(0))])

    log(f'checking ONNX Runtime against PyTorch on the test images of {dataset} '
        f'({num_images if num_images is not None else "all"}) ...')
    comparison = compare_scores(run_ort, lambda image, samples: torch_scores(model, image, samples, field),
                                raw_test_batches(loader, num_images=num_images, size=size), tolerance,
                                check_top1=output == 'scores')
    return ExportReport(path=osp.abspath(out), opset=opset, output=output, input_shape=input_shape,
                        dynamic_batch=dynamic,
                        switched=switched, dataset=dataset, comparison=comparison)

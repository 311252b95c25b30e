"""ONNX Runtime sessions and the check of an exported classifier against PyTorch.

:func:`ort_session` opens a CPU session with all graph optimisations (constant folding, node
fusions such as Conv+Add+Relu, layout transforms) and explicit thread counts.
:func:`compare_scores` runs ORT and a PyTorch reference on the same batches and reports the
largest absolute difference of the scores and whether the top-1 class agrees on every image.
"""
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Tuple

import numpy as np
import torch

from .optional_imports import import_onnxruntime


def ort_session(path: str, threads: Optional[int] = None, optimization: str = 'all', spinning: bool = True,
                optimized_path=None):
    """A CPU ``onnxruntime.InferenceSession`` for the model file ``path``.

    Args:
        threads (int, optional): Intra-op threads (None: ORT's default, one per core).
        optimization (str): ``'all'``, ``'extended'``, ``'basic'`` or ``'none'`` graph optimisations.
        spinning (bool): Let idle intra-op threads spin-wait (ORT's default: lower latency, but
            they burn CPU between calls, which slows whatever else runs on the machine).
        optimized_path (str, optional): Also write the optimised graph there (for inspection).

    Raises:
        ImportError: If onnxruntime is missing (names ``pip install 'tessera-core[deploy]'``).
        ValueError: If ``optimization`` is not one of the four levels.
    """
    ort = import_onnxruntime()
    levels = dict(all=ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
                  extended=ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                  basic=ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                  none=ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    if optimization not in levels:
        raise ValueError(f'invalid optimization {optimization!r}; valid: {", ".join(levels)}')
    options = ort.SessionOptions()
    options.graph_optimization_level = levels[optimization]
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads is not None:
        options.intra_op_num_threads = threads
    if not spinning:
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    if optimized_path is not None:
        options.optimized_model_filepath = str(optimized_path)
    return ort.InferenceSession(str(path), options, providers=['CPUExecutionProvider'])


def run_session(session, image: torch.Tensor) -> np.ndarray:
    """Run a one-input session: image tensor (N, ...) -> first output as a numpy array."""
    name = session.get_inputs()[0].name
    return session.run(None, {name: image.detach().cpu().numpy().astype(np.float32, copy=False)})[0]


@dataclass
class ScoreComparison:
    """ORT vs PyTorch on a set of images.

    ``max_abs_diff`` is over every score of every image; ``top1_same`` counts images whose
    arg-max agrees; ``correct_torch`` / ``correct_ort`` count arg-max hits of the labels
    (when labels were given). With ``check_top1=False`` (outputs that are embeddings, not class
    scores) only ``max_abs_diff`` decides and no arg-max is reported.
    """
    images: int = 0
    max_abs_diff: float = 0.0
    top1_same: int = 0
    correct_torch: int = 0
    correct_ort: int = 0
    labelled: int = 0
    tolerance: float = 1e-4
    check_top1: bool = True

    @property
    def passed(self) -> bool:
        top1 = self.top1_same == self.images or not self.check_top1
        return self.images > 0 and self.max_abs_diff <= self.tolerance and top1

    def summary(self) -> str:
        text = (f'{self.images} images: max |ORT - PyTorch| = {self.max_abs_diff:.3g} (tolerance '
                f'{self.tolerance:g})')
        if not self.check_top1:
            return text
        text += f', top-1 identical on {self.top1_same}/{self.images}'
        if self.labelled:
            text += (f'; top-1 accuracy PyTorch {100 * self.correct_torch / self.labelled:.2f} %, '
                     f'ONNX Runtime {100 * self.correct_ort / self.labelled:.2f} %')
        return text


def compare_scores(run_ort: Callable[[torch.Tensor], np.ndarray],
                   run_torch: Callable[[torch.Tensor, object], torch.Tensor],
                   batches: Iterable[Tuple[torch.Tensor, object, Optional[torch.Tensor]]],
                   tolerance: float = 1e-4, check_top1: bool = True) -> ScoreComparison:
    """Compare ORT and PyTorch batch by batch.

    Args:
        run_ort: image (N, C, H, W) -> scores (N, K) as numpy.
        run_torch: (image, extra) -> scores (N, K) tensor, the reference.
        batches: ``(image (N, C, H, W), extra passed to run_torch, labels (N,) or None)``.
        tolerance (float): Largest allowed absolute difference of a score.
        check_top1 (bool): Whether the outputs are class scores whose arg-max must agree.
    """
    result = ScoreComparison(tolerance=tolerance, check_top1=check_top1)
    for image, extra, labels in batches:
        ours = torch.from_numpy(np.asarray(run_ort(image), dtype=np.float32))
        with torch.no_grad():
            ref = run_torch(image, extra).detach().float().cpu()
        if ours.shape != ref.shape:
            raise ValueError(f'ONNX Runtime gave scores of shape {tuple(ours.shape)}, PyTorch {tuple(ref.shape)}')
        result.images += ref.size(0)
        result.max_abs_diff = max(result.max_abs_diff, (ours - ref).abs().max().item())
        if not check_top1:
            continue
        top_ours, top_ref = ours.argmax(1), ref.argmax(1)
        result.top1_same += int((top_ours == top_ref).sum())
        if labels is not None:
            labels = labels.reshape(-1).cpu()
            result.labelled += labels.numel()
            result.correct_torch += int((top_ref == labels).sum())
            result.correct_ort += int((top_ours == labels).sum())
    return result

"""Incremental triplet margin: the multi-stage schedule of ITM.

Learning Incremental Triplet Margin for Person Re-identification, Zhang et al., AAAI 2019, arXiv:1812.06576
(multi-stage training with incremental triplet margin and global hard identity searching). No official code.

The paper argues that a large triplet margin is beneficial but hard to learn from the start, and trains in
stages: each stage starts from the model of the previous one and raises the margin, so that the positive /
negative separation grows step by step ("by repeatedly applying a shift on the data points in the embedding
space, the margin between the positive and negative pairs in the triplet is progressively increased"). Here
the stages are epoch ranges of one run (the weights carry over, which is the stage-to-stage initialisation):

    m(e) = margins[s]  for  stage_epochs[s] <= e < stage_epochs[s + 1]

with ``stage_epochs[0] = 0`` and non-decreasing ``margins``. The hook writes ``m(e)`` into the triplet loss
(``margin`` of the module at ``loss_path``, ``head.loss_triplet`` by default) before every training epoch, so
a resumed run gets the margin of its epoch, and logs ``train/triplet_margin``.
"""
from typing import Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_reid.registry import HOOKS


def margin_at_epoch(epoch: int, stage_epochs: Sequence[int], margins: Sequence[float]) -> float:
    """The margin of the stage that contains ``epoch`` (0-based)."""
    if epoch < 0:
        raise ValueError(f'epoch must be >= 0, got {epoch}')
    stage = max(s for s, start in enumerate(stage_epochs) if start <= epoch)
    return float(margins[stage])


def get_submodule(model, path: str):
    module = model.module if is_model_wrapper(model) else model
    for name in path.split('.'):
        if not hasattr(module, name):
            raise AttributeError(f'{type(module).__name__} has no attribute {name!r} (path {path!r})')
        module = getattr(module, name)
    return module


@HOOKS.register_module()
class IncrementalTripletMarginHook(Hook):
    """Set the triplet margin per training stage.

    Args:
        stage_epochs (Sequence[int]): First epoch (0-based) of each stage, strictly increasing, starting at 0.
        margins (Sequence[float]): Margin of each stage, non-decreasing, one per stage.
        loss_path (str): Attribute path of the triplet loss from the model (must have a ``margin``).
    """
    priority = 'NORMAL'

    def __init__(self, stage_epochs: Sequence[int] = (0, 40, 80), margins: Sequence[float] = (0.3, 0.5, 0.7),
                 loss_path: str = 'head.loss_triplet'):
        stage_epochs, margins = [int(e) for e in stage_epochs], [float(m) for m in margins]
        if not stage_epochs or stage_epochs[0] != 0:
            raise ValueError(f'IncrementalTripletMarginHook: stage_epochs must start at 0, got {stage_epochs}')
        if any(b <= a for a, b in zip(stage_epochs, stage_epochs[1:])):
            raise ValueError(f'IncrementalTripletMarginHook: stage_epochs must increase strictly, got {stage_epochs}')
        if len(margins) != len(stage_epochs):
            raise ValueError(f'IncrementalTripletMarginHook: {len(margins)} margins for {len(stage_epochs)} stages '
                             f'(stage_epochs={stage_epochs}, margins={margins})')
        if margins[0] < 0 or any(b < a for a, b in zip(margins, margins[1:])):
            raise ValueError(f'IncrementalTripletMarginHook: margins must be >= 0 and non-decreasing (incremental), '
                             f'got {margins}')
        self.stage_epochs, self.margins, self.loss_path = stage_epochs, margins, loss_path

    def before_train(self, runner) -> None:
        loss = get_submodule(runner.model, self.loss_path)
        if getattr(loss, 'margin', None) is None:
            raise ValueError(f'IncrementalTripletMarginHook: {self.loss_path} ({type(loss).__name__}) has no '
                             'numeric margin (a soft-margin triplet loss cannot be scheduled)')

    def before_train_epoch(self, runner) -> None:
        loss = get_submodule(runner.model, self.loss_path)
        margin = margin_at_epoch(runner.epoch, self.stage_epochs, self.margins)
        if loss.margin != margin:
            runner.logger.info(f'IncrementalTripletMarginHook: epoch {runner.epoch}: triplet margin '
                               f'{loss.margin} -> {margin}')
            loss.margin = margin
        runner.message_hub.update_scalar('train/triplet_margin', margin)

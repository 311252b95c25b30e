"""A hook that reports weighted k-NN top-1 of the model's features during self-supervised training.

Features of a labelled train set (the memory bank) and of a test set come from
``model.extract_feat`` (after the model's data preprocessor, eval mode, no gradient); the test
features are classified by :func:`~tessera_compression.evaluation.weighted_knn_predict` (InstDisc's
weighted vote, k = 20, T = 0.07). The result is logged and stored in the message hub as
``knn/top1`` (so it appears in the log line and in ``scalars.json``).
"""
from typing import Optional

import torch
from mmengine.dist import all_gather, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_compression.registry import HOOKS

from ...evaluation.functional import knn_top1

__all__ = ['KNNMonitorHook']


@HOOKS.register_module()
class KNNMonitorHook(Hook):
    """Args:
        train_dataloader (dict): Dataloader config of the memory bank (labelled, test-time pipeline).
        val_dataloader (dict): Dataloader config of the evaluated images.
        k (int): Neighbours (20).
        temperature (float): ``T`` of the weights (0.07).
        interval (int): Run every ``interval`` epochs (``by_epoch``) or iterations.
        by_epoch (bool): Count epochs (default) or iterations.
        num_classes (int, optional): Default: from the dataset's ``metainfo['classes']``, else max label + 1.
        run_after_train (bool): Also run once after the last iteration if the interval did not hit it.
    """
    priority = 'LOW'

    def __init__(self, train_dataloader: dict, val_dataloader: dict, k: int = 20, temperature: float = 0.07,
                 interval: int = 1, by_epoch: bool = True, num_classes: Optional[int] = None,
                 run_after_train: bool = True):
        if k < 1 or temperature <= 0 or interval < 1:
            raise ValueError(f'need k >= 1, temperature > 0, interval >= 1; got {k}, {temperature}, {interval}')
        self.train_cfg, self.val_cfg = train_dataloader, val_dataloader
        self.k, self.temperature, self.interval, self.by_epoch = k, temperature, interval, by_epoch
        self.num_classes, self.run_after_train = num_classes, run_after_train
        self.loaders = None
        self.last_top1: Optional[float] = None
        self._last_run = None

    def _build(self, runner):
        if self.loaders is None:
            self.loaders = tuple(runner.build_dataloader(cfg, seed=runner.seed) for cfg in (self.train_cfg,
                                                                                             self.val_cfg))
        return self.loaders

    @torch.no_grad()
    def features(self, model, loader):
        feats, labels = [], []
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            feats.append(model.extract_feat(data['inputs']).flatten(1).float())
            labels.append(torch.cat([s.gt_label for s in data['data_samples']]).to(feats[-1].device))
        feats, labels = torch.cat(feats), torch.cat(labels)
        if get_world_size() > 1:
            feats, labels = torch.cat(all_gather(feats)), torch.cat(all_gather(labels))
        return feats, labels

    def evaluate(self, runner) -> float:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        train_loader, val_loader = self._build(runner)
        was_training = model.training
        model.eval()
        try:
            bank, bank_labels = self.features(model, train_loader)
            test, test_labels = self.features(model, val_loader)
        finally:
            model.train(was_training)
        num_classes = self.num_classes
        if num_classes is None:
            classes = getattr(train_loader.dataset, 'metainfo', {}).get('classes')
            num_classes = len(classes) if classes else int(max(bank_labels.max(), test_labels.max())) + 1
        top1 = knn_top1(bank, bank_labels, test, test_labels, num_classes, self.k, self.temperature)
        self.last_top1 = top1
        runner.message_hub.update_scalar('knn/top1', top1)
        runner.logger.info(f'knn/top1: {top1:.2f} (weighted k-NN, k={self.k}, T={self.temperature}, '
                           f'{len(bank)} bank / {len(test)} test features)')
        return top1

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch and self.every_n_epochs(runner, self.interval):
            self.evaluate(runner)
            self._last_run = runner.iter

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if not self.by_epoch and self.every_n_train_iters(runner, self.interval):
            self.evaluate(runner)
            self._last_run = runner.iter + 1  # the loop counts this iteration after the hook

    def after_train(self, runner) -> None:
        if self.run_after_train and self._last_run != runner.iter:
            self.evaluate(runner)

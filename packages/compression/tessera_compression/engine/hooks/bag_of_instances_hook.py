"""Build BINGO's bags from the frozen teacher before training and give them to the train set.

Bag of Instances Aggregation Boosts Self-supervised Distillation (arXiv:2107.01691); the official
code computes them offline (``compute_knn.py``) and loads an ``.npy``; here they are computed at
``before_train`` by :meth:`BINGO.compute_bags` (teacher features of every un-augmented training
image, k nearest neighbours) and handed to :class:`BagOfInstancesDataset`. The log line reports
how often a bag mate shares its anchor's label (labels are read for this report only, never used
in training): the evidence that the bags are non-trivial.
"""
import numpy as np
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_compression.registry import HOOKS

__all__ = ['BagOfInstancesHook']


@HOOKS.register_module()
class BagOfInstancesHook(Hook):
    """Args:
        batch_size (int): Batch of the teacher's feature pass.
        report_label_agreement (bool): Log the fraction of bag mates sharing the anchor's label.
    """

    priority = 'NORMAL'

    def __init__(self, batch_size: int = 500, report_label_agreement: bool = True):
        self.batch_size, self.report = int(batch_size), report_label_agreement
        self.bags = None
        self.label_agreement = None

    def before_train(self, runner) -> None:
        from tessera_compression.datasets import BagOfInstancesDataset
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'compute_bags'):
            raise TypeError(f'BagOfInstancesHook needs a model with compute_bags (BINGO), got {type(model).__name__}')
        dataset = runner.train_dataloader.dataset
        if not isinstance(dataset, BagOfInstancesDataset):
            raise TypeError(f'BagOfInstancesHook needs a BagOfInstancesDataset train set, got {type(dataset).__name__}')
        bags = model.compute_bags(dataset, self.batch_size)
        dataset.set_bags(bags)
        self.bags = bags
        msg = f'BINGO bags: {bags.shape[1]} teacher nearest neighbours for each of {bags.shape[0]} training images'
        if self.report:
            labels = dataset.gt_labels()
            self.label_agreement = float((labels[bags.numpy()] == labels[:, None]).mean())
            chance = float(np.sum((np.bincount(labels) / len(labels)) ** 2))
            msg += (f'; bag mates sharing the anchor\'s label: {100 * self.label_agreement:.2f} % '
                    f'(random pairs: {100 * chance:.2f} %)')
        runner.logger.info(msg)

"""Runner hook for SCAL's per-epoch local-structure establishment (arXiv:2103.02808, Algorithm 1,
lines 4-6). The model side: :class:`tessera_core.models.classifiers.SCALClassifier`."""
from typing import Tuple

import torch
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.utils.data import DataLoader

from tessera_core.registry import HOOKS


@HOOKS.register_module()
class SCALStructureHook(Hook):
    """Before every training epoch, extract features of the whole source and target sets of the
    ``DomainPairDataset`` train set (model in eval mode, no gradient; the sets' own pipelines), and
    let the model cluster the target: ``model.establish_local_structures(source_feats, source_labels,
    target_feats)``. Target features are taken in dataset index order, which is the index the
    preprocessor passes as ``target_indices``. The log line also gives the agreement of the clusters
    with the target labels the dataset carries (a diagnostic, as the paper's Fig. 6 a; the labels
    never reach the model).

    Args:
        batch_size (int): Feature-extraction batch size.
    """
    priority = 'NORMAL'

    def __init__(self, batch_size: int = 256):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'batch_size must be a positive int, got {batch_size!r}')
        self.batch_size = batch_size
        self.last_labels = None

    @torch.no_grad()
    def _features(self, model, dataset) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        feats, labels, indices = [], [], []
        for batch in DataLoader(dataset, batch_size=self.batch_size, shuffle=False, collate_fn=pseudo_collate):
            data = model.data_preprocessor(batch, False)
            feats.append(model.extract_feat(data['inputs'])[-1])
            samples = data['data_samples']
            labels.append(torch.cat([s.gt_label for s in samples]))
            indices.append(torch.tensor([s.metainfo.get('sample_idx', -1) for s in samples]))
        return torch.cat(feats), torch.cat(labels), torch.cat(indices)

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'establish_local_structures'):
            raise ValueError(f'SCALStructureHook needs a model with establish_local_structures '
                             f"(type='SCALClassifier'), got {type(model).__name__}")
        dataset = runner.train_dataloader.dataset
        if not (hasattr(dataset, 'source') and hasattr(dataset, 'target')):
            raise ValueError(f'SCALStructureHook needs a DomainPairDataset train set, got {type(dataset).__name__}')
        was_training = model.training
        model.eval()
        try:
            source_feats, source_labels, _ = self._features(model, dataset.source)
            target_feats, target_labels, target_idx = self._features(model, dataset.target)
        finally:
            model.train(was_training)
        if not torch.equal(target_idx, torch.arange(len(target_idx))):
            raise ValueError('target samples must carry sample_idx equal to their dataset index '
                             "(PackClsInputs meta_keys include 'sample_idx')")
        previous = self.last_labels
        self.last_labels = model.establish_local_structures(source_feats, source_labels, target_feats)
        counts = torch.bincount(self.last_labels, minlength=model.num_classes).tolist()
        changed = '' if previous is None else f', {int((previous != self.last_labels).sum())} changed'
        # diagnostic only (the paper's clustering-accuracy curve, Fig. 6 a): the target labels the
        # dataset carries are compared with the clusters here and never reach the model
        agree = (self.last_labels.cpu() == target_labels.cpu()).float().mean().item() * 100
        runner.logger.info(f'SCAL local structures: {len(self.last_labels)} target samples clustered '
                           f'from the class centres of {len(source_labels)} source samples{changed}; cluster sizes '
                           f'{counts}; agreement with the withheld target labels {agree:.2f}% (diagnostic)')

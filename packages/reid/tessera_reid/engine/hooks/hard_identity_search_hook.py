"""The search step of ITM's global hard identity searching (GHIS).

Learning Incremental Triplet Margin for Person Re-identification, Zhang et al., AAAI 2019, arXiv:1812.06576.
No official code.

Before the training epochs in ``search_epochs`` (by default the starts of the later training stages, so the
model of the previous stage does the searching), the hook extracts the feature of every training image with the
current model in eval mode, without augmentation (the training dataset rebuilt with the test pipeline), averages
them per identity into centroids and hands them to the :class:`GlobalHardIdentitySampler`, which from then on
groups every identity with its nearest identities in a batch. Feature: ``'triplet'`` (default) is the pooled
pre-BN feature the triplet loss sees, ``'embedding'`` the inference embedding of the head.

It logs what the search selected: the mean centroid distance between the identities of a batch of this epoch
(``train/ghis_batch_dist``) against the mean over all pairs of distinct identities, which is what random PK
batches give in expectation (``train/ghis_random_dist``).
"""
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.utils.data import DataLoader

from tessera_reid.datasets.samplers import GlobalHardIdentitySampler
from tessera_reid.datasets.samplers.pk_sampler import dataset_labels
from tessera_reid.registry import DATASETS, HOOKS

FEATURES = ('triplet', 'embedding')


@torch.no_grad()
def identity_centroids(model, dataloader, pids: Sequence[int], labels: np.ndarray,
                       feature: str = 'triplet') -> np.ndarray:
    """Mean feature per identity, (len(pids), C), rows in the order of ``pids``; ``labels`` per dataset item."""
    if feature not in FEATURES:
        raise ValueError(f'invalid feature {feature!r}; valid: {FEATURES}')
    was_training = model.training
    model.eval()
    feats = []
    try:
        for data in dataloader:
            data = model.data_preprocessor(data, False)
            pooled = model.extract_feat(data['inputs'])
            out = model.head.pre_logits(pooled) if feature == 'triplet' else model.head(pooled)
            feats.append(out.double().cpu())
    finally:
        model.train(was_training)
    feats = torch.cat(feats).numpy()
    if len(feats) != len(labels):
        raise RuntimeError(f'extracted {len(feats)} features for {len(labels)} training images')
    pos = {int(pid): i for i, pid in enumerate(pids)}
    rows = np.array([pos[int(y)] for y in labels])
    sums = np.zeros((len(pids), feats.shape[1]))
    np.add.at(sums, rows, feats)
    counts = np.bincount(rows, minlength=len(pids))[:, None]
    return sums / np.maximum(counts, 1)


@HOOKS.register_module()
class HardIdentitySearchHook(Hook):
    """Refresh the hard-identity sampler's centroid distances at chosen epochs.

    Args:
        search_epochs (Sequence[int]): 0-based epochs before which to search (e.g. the starts of stages 2, 3).
        feature (str): ``'triplet'`` (pre-BN pooled feature) or ``'embedding'``.
        batch_size (int): Extraction batch size.
        pipeline (list, optional): Pipeline of the extraction dataset; ``None`` uses the test dataloader's.
    """
    priority = 'NORMAL'

    def __init__(self, search_epochs: Sequence[int] = (40, 80), feature: str = 'triplet', batch_size: int = 256,
                 pipeline: Optional[list] = None):
        if feature not in FEATURES:
            raise ValueError(f'HardIdentitySearchHook: invalid feature {feature!r}; valid: {FEATURES}')
        if any(int(e) < 0 for e in search_epochs):
            raise ValueError(f'HardIdentitySearchHook: search_epochs must be >= 0, got {search_epochs}')
        self.search_epochs = sorted(int(e) for e in search_epochs)
        self.feature, self.batch_size, self.pipeline = feature, batch_size, pipeline
        self._loader = None

    def _sampler(self, runner) -> GlobalHardIdentitySampler:
        sampler = runner.train_dataloader.sampler
        if not isinstance(sampler, GlobalHardIdentitySampler):
            raise TypeError(f'HardIdentitySearchHook needs train_dataloader.sampler of type '
                            f"'GlobalHardIdentitySampler', got {type(sampler).__name__}")
        return sampler

    def before_train(self, runner) -> None:
        self._sampler(runner)

    def _extraction_loader(self, runner) -> DataLoader:
        if self._loader is None:
            cfg = dict(runner.cfg.train_dataloader['dataset'])
            pipeline = self.pipeline
            if pipeline is None:
                test = runner.cfg.get('test_dataloader') or runner.cfg.get('val_dataloader')
                pipeline = test['dataset']['pipeline']
            cfg['pipeline'] = pipeline
            dataset = DATASETS.build(cfg)
            self._loader = DataLoader(dataset, batch_size=self.batch_size, shuffle=False, num_workers=0,
                                      collate_fn=pseudo_collate)
        return self._loader

    def before_train_epoch(self, runner) -> None:
        # resuming past a search epoch redoes the latest search, so the sampler is in the state of its stage
        due = [e for e in self.search_epochs if e <= runner.epoch]
        sampler = self._sampler(runner)
        if not due or (runner.epoch not in self.search_epochs and sampler.identity_dist is not None):
            return
        loader = self._extraction_loader(runner)
        labels = dataset_labels(loader.dataset)
        if not np.array_equal(labels, sampler._labels):
            raise RuntimeError('HardIdentitySearchHook: the extraction dataset (train dataset with the test '
                               'pipeline) does not list the same identities in the same order as the sampler\'s')
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        centroids = identity_centroids(model, loader, sampler.pids, labels, self.feature)
        dist = sampler.set_centroids(centroids)
        sampler.set_epoch(runner.epoch)
        n = len(sampler.pids)
        random_dist = float(dist.sum() / (n * (n - 1)))
        batches = sampler._rank_batches()
        batch_dist = float(np.mean([sampler.batch_identity_distance(b) for b in batches]))
        nearest = float(np.sort(dist + np.diag(np.full(n, np.inf)), axis=1)[:, 0].mean())
        runner.logger.info(f'HardIdentitySearchHook: epoch {runner.epoch}: searched {n} identity centroids '
                           f'({len(labels)} images, feature {self.feature!r}); mean centroid distance within '
                           f'this epoch\'s batches {batch_dist:.4f} vs {random_dist:.4f} between random '
                           f'identities (nearest neighbour {nearest:.4f}); {len(batches)} batches')
        runner.message_hub.update_scalar('train/ghis_batch_dist', batch_dist)
        runner.message_hub.update_scalar('train/ghis_random_dist', random_dist)

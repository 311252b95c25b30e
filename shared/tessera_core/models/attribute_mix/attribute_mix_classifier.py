"""Image classifier trained with Attribute Mix (Li et al., VCIP 2020, arXiv:2004.02684).

A frozen copy of a classifier trained without mixing (the miner) mines k attribute regions of
every training image online (on the augmented batch, so the regions follow random shifts/flips);
with probability ``prob`` a batch is replaced by its Attribute Mix with a random permutation of
itself, and the student is trained on the soft labels with the head's soft-label cross-entropy.
Inference is the plain classifier (no extra cost at test time, as the paper states).
"""
import os
from typing import List, Optional

import numpy as np
import torch

from tessera_core.models.classifiers import ImageClassifier
from tessera_core.models.mixing import check_mixing_ratio, check_soft_label_support
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample

from .attribute_miner import AttributeMiner
from .attribute_mix import attribute_mix


@MODELS.register_module()
class AttributeMixClassifier(ImageClassifier):
    """Args:
        backbone, neck, head, data_preprocessor: as :class:`ImageClassifier` (the student); the
            head's loss must accept soft labels (e.g. ``LabelSmoothLoss(label_smooth_val=0)``).
        miner (dict): Config of the trained classifier that mines attributes (an
            ``ImageClassifier`` with ``GlobalAveragePooling`` and a linear head).
        miner_checkpoint (str, optional): Its weights (a ``.pth`` with ``state_dict``, e.g. the
            ``epoch_N.pth`` of the baseline run). None only for tests; training refuses it.
        num_attributes (int): k attributes mined per image (paper: k per category).
        threshold (float): Region threshold theta on the normalised activation map.
        prob (float): Probability that a training batch is mixed, in [0, 1].
        fill (float): Value erasing a mined region before the next one is mined.
    """

    def __init__(self, backbone: dict, head: dict, miner: dict, neck: Optional[dict] = None,
                 miner_checkpoint: Optional[str] = None, num_attributes: int = 3, threshold: float = 0.5,
                 prob: float = 1.0, fill: float = 0.0, data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(backbone=backbone, head=head, neck=neck, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        check_soft_label_support(self.head, 'AttributeMixClassifier')
        self.prob = check_mixing_ratio(prob, 'prob')
        miner_model = self.registry.build(miner) if isinstance(miner, dict) else miner
        if miner_checkpoint is not None:
            if not os.path.isfile(miner_checkpoint):
                raise FileNotFoundError(f'miner_checkpoint {miner_checkpoint!r} does not exist: train the miner '
                                        'first (the baseline config without mixing) and pass its epoch_N.pth')
            state = torch.load(miner_checkpoint, map_location='cpu', weights_only=True)
            state = state.get('state_dict', state)
            missing, unexpected = miner_model.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise ValueError(f'miner_checkpoint {miner_checkpoint!r} does not match the miner config: missing '
                                 f'{missing}, unexpected {unexpected}')
        self.miner_checkpoint = miner_checkpoint
        # kept out of the student's parameters / state dict: a plain attribute, not a submodule
        self.__dict__['miner'] = AttributeMiner(miner_model, num_attributes, threshold, fill)
        self.last_lam: Optional[torch.Tensor] = None

    def _apply(self, fn, *args, **kwargs):  # device moves reach the miner too
        super()._apply(fn, *args, **kwargs)
        self.miner._apply(fn, *args, **kwargs)
        return self

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[ClsDataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'loss' and self.training:
            if self.miner_checkpoint is None and not getattr(self, 'allow_untrained_miner', False):
                raise ValueError('AttributeMixClassifier: miner_checkpoint is None; attributes must be mined with a '
                                 'trained classifier (train the baseline first and pass its checkpoint)')
            self.last_lam = None
            if np.random.rand() < self.prob:
                inputs, data_samples = self.mix(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)

    def mix(self, inputs: torch.Tensor, data_samples: List[ClsDataSample]):
        """Attribute Mix of a batch with a random permutation of itself; sets ``gt_score``."""
        labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
        num_classes = self.head.fc.out_features if hasattr(self.head, 'fc') else self.head.num_classes
        scores = torch.nn.functional.one_hot(labels, num_classes).float()
        boxes = self.miner(inputs, labels)
        n = inputs.size(0)
        index = torch.randperm(n, device=inputs.device)
        attribute = torch.randint(self.miner.num_attributes, (n,), device=inputs.device)
        mixed, mixed_scores, lam = attribute_mix(inputs, scores, boxes, index, attribute)
        for sample, score in zip(data_samples, mixed_scores):
            sample.set_field(score, 'gt_score', dtype=torch.Tensor)
        self.last_lam = lam
        return mixed, data_samples

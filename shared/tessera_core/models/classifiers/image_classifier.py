"""Image classifier: backbone -> neck -> head, with mmengine's three forward modes."""
from typing import List, Optional, Union

import torch
from mmengine.model import BaseModel

from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample


@MODELS.register_module()
class ImageClassifier(BaseModel):
    """Args:
        backbone (dict): Backbone config; returns a tuple of feature maps.
        neck (dict, optional): e.g. ``dict(type='GlobalAveragePooling')``.
        head (dict): Head config with ``loss`` and ``predict``.
        data_preprocessor (dict, optional): Defaults to ``ClsDataPreprocessor``.

    Subclasses in task packages set ``registry`` to their own ``MODELS`` so their
    components resolve even without a default scope.
    """
    registry = MODELS

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = self.registry.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = self.registry.build(backbone)
        self.neck = self.registry.build(neck) if neck is not None else None
        self.head = self.registry.build(head)
        self._check_batch_augments()

    def _check_batch_augments(self) -> None:
        """Refuse at build time what the first training step would: batch augments (soft labels) with a
        head whose loss takes hard labels only, or with another class count than the head's."""
        augments = getattr(self.data_preprocessor, 'batch_augments', None)
        if augments is None or not hasattr(self.head, 'accepts_soft_labels'):
            return
        if not self.head.accepts_soft_labels:
            raise ValueError(
                f'data_preprocessor.batch_augments makes soft labels, but the head\'s loss '
                f'{type(self.head.loss_module).__name__} does not accept soft labels (no '
                "accepts_soft_labels=True); use e.g. loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0) "
                'or remove data_preprocessor.batch_augments')
        head_classes = getattr(self.head, 'num_classes', None)
        if head_classes is not None and head_classes != self.data_preprocessor.num_classes:
            raise ValueError(f'data_preprocessor.num_classes={self.data_preprocessor.num_classes} (the width of '
                             f'the soft labels) differs from head.num_classes={head_classes}')

    def extract_feat(self, inputs: torch.Tensor):
        """inputs (N, C, H, W) -> tuple of features after the neck."""
        x = self.backbone(inputs)
        if isinstance(x, torch.Tensor):
            x = (x,)
        return self.neck(x) if self.neck is not None else x

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[ClsDataSample]] = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        if mode == 'loss':
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            return self.head.predict(self.extract_feat(inputs), data_samples)
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'predict', 'tensor'")

"""Batching of (source, target) pairs from :class:`~tessera_core.datasets.DomainPairDataset`."""
from tessera_core.registry import MODELS

from .cls_data_preprocessor import ClsDataPreprocessor


@MODELS.register_module()
class DomainPairDataPreprocessor(ClsDataPreprocessor):
    """:class:`ClsDataPreprocessor` applied to each domain of a paired batch.

    A batch ``dict(source=dict(inputs, data_samples), target=dict(inputs, data_samples))`` becomes
    ``dict(inputs, data_samples, target_inputs)``: the source images and labels as in ordinary
    classification, plus the target images (N, C, H, W) with their labels dropped, so the model
    cannot use them. Ordinary batches (validation, test) pass through unchanged.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        if 'source' not in data and 'target' not in data:
            return super().forward(data, training)
        missing = [key for key in ('source', 'target') if key not in data]
        if missing:
            raise ValueError(f'a domain-pair batch needs both "source" and "target"; missing {missing}')
        source = super().forward(data['source'], training)
        target = super().forward(data['target'], training)
        return dict(inputs=source['inputs'], data_samples=source['data_samples'], target_inputs=target['inputs'])

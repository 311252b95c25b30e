"""Batching of (source, target) pairs from :class:`~tessera_core.datasets.DomainPairDataset`."""
import torch

from tessera_core.registry import MODELS

from .cls_data_preprocessor import ClsDataPreprocessor


@MODELS.register_module()
class DomainPairDataPreprocessor(ClsDataPreprocessor):
    """:class:`ClsDataPreprocessor` applied to each domain of a paired batch.

    A batch ``dict(source=dict(inputs, data_samples), target=dict(inputs, data_samples))`` becomes
    ``dict(inputs, data_samples, target_inputs)``: the source images and labels as in ordinary
    classification, plus the target images (N, C, H, W) with their labels dropped, so the model
    cannot use them. Ordinary batches (validation, test) pass through unchanged.

    Args:
        pass_target_indices (bool): Also return ``target_indices`` (N,) long, the targets'
            ``sample_idx`` (their dataset indices; for methods that keep per-sample state such as
            SCAL's pseudo-labels). Off by default.
        Other arguments as :class:`ClsDataPreprocessor`.
    """

    def __init__(self, *args, pass_target_indices: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.pass_target_indices = pass_target_indices

    def forward(self, data: dict, training: bool = False) -> dict:
        if 'source' not in data and 'target' not in data:
            return super().forward(data, training)
        missing = [key for key in ('source', 'target') if key not in data]
        if missing:
            raise ValueError(f'a domain-pair batch needs both "source" and "target"; missing {missing}')
        source = super().forward(data['source'], training)
        target = super().forward(data['target'], training)
        out = dict(inputs=source['inputs'], data_samples=source['data_samples'], target_inputs=target['inputs'])
        if self.pass_target_indices:
            indices = [sample.metainfo.get('sample_idx') for sample in target['data_samples']]
            if any(i is None for i in indices):
                raise ValueError("pass_target_indices needs target samples with 'sample_idx' in their metainfo "
                                 "(PackClsInputs meta_keys)")
            out['target_indices'] = torch.tensor(indices, dtype=torch.long, device=target['inputs'].device)
        return out

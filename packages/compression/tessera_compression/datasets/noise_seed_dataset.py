"""A dataset of noise seeds: what a data-free run iterates over instead of images."""
from torch.utils.data import Dataset

from tessera_compression.registry import DATASETS

__all__ = ['NoiseSeedDataset']


@DATASETS.register_module()
class NoiseSeedDataset(Dataset):
    """Item ``i`` is ``dict(seed=seed * length + i)``; no file is read and no image exists.

    A data-free model (:class:`~tessera_compression.models.DataFreeDistillation`) turns the seeds of
    a batch into noise, so the dataloader only sets the batch size, the number of iterations per epoch
    and (through the sampler) which seeds each rank draws.

    Args:
        length (int): Seeds per epoch (= iterations per epoch x batch size).
        seed (int): Offset separating runs that should draw different noise.
    """
    METAINFO: dict = dict(classes=())

    def __init__(self, length: int = 6400, seed: int = 0, **kwargs):
        if length <= 0:
            raise ValueError(f'length must be positive, got {length}')
        unknown = set(kwargs) - {'pipeline', 'test_mode', 'lazy_init', 'serialize_data'}
        if unknown:
            raise TypeError(f'NoiseSeedDataset got unexpected arguments {sorted(unknown)} (valid: length, seed)')
        self.length, self.seed = int(length), int(seed)
        self.metainfo = dict(self.METAINFO)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int) -> dict:
        if not 0 <= idx < self.length:
            raise IndexError(f'NoiseSeedDataset index {idx} out of range [0, {self.length})')
        return dict(seed=self.seed * self.length + int(idx))

    def full_init(self) -> None:
        """Nothing to load (mmengine calls this on datasets)."""

    def __repr__(self) -> str:
        return f'{type(self).__name__}(length={self.length}, seed={self.seed})'

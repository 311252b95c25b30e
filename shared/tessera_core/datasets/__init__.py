from .domain_pair import DomainPairDataset
from .embedded_digits import EmbeddedDigits
from .in_memory import InMemoryImageDataset
from .mnist_idx import FashionMNIST, MNISTIdx, read_idx
from .transforms import *  # noqa: F401,F403

__all__ = ['DomainPairDataset', 'EmbeddedDigits', 'InMemoryImageDataset', 'FashionMNIST', 'MNISTIdx', 'read_idx']

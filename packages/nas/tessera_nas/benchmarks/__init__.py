"""A tabular NAS benchmark built in this package (NAS-Bench-201-style cells on Fashion-MNIST 16 px)."""
from . import space
from .space import GenotypeError

__all__ = ['space', 'GenotypeError']
from .tabular import ArchitectureNotInTable, Entry, TabularBenchmark  # noqa: E402

__all__ += ['ArchitectureNotInTable', 'Entry', 'TabularBenchmark']

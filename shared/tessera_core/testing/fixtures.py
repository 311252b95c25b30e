"""pytest fixtures and hooks shared by every package's test suite.

A package's ``tests/conftest.py`` imports what it needs::

    from tessera_core.testing.fixtures import pytest_configure, seeded  # noqa: F401
    default_scope = scoped('tessera_reid')
"""
import os

import pytest

os.environ.setdefault('MPLBACKEND', 'Agg')


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: end-to-end runs through mim (seconds to a minute)')


@pytest.fixture(autouse=True)
def seeded():
    """Seed torch and numpy before every test."""
    import numpy as np
    import torch
    torch.manual_seed(0)
    np.random.seed(0)
    yield


def scoped(scope: str):
    """An autouse fixture building unprefixed names in ``scope`` (as the package's
    configs do), whatever scope another suite in the same session left behind."""

    @pytest.fixture(autouse=True)
    def _default_scope():
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope(scope):
            yield

    return _default_scope

import os

import pytest

os.environ.setdefault('MPLBACKEND', 'Agg')


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: end-to-end runs through mim (seconds to a minute)')


@pytest.fixture(autouse=True)
def _seed():
    import numpy as np
    import torch
    torch.manual_seed(0)
    np.random.seed(0)
    yield


@pytest.fixture(autouse=True)
def _default_scope():
    """Build unprefixed names in tessera_reid's scope (as its configs do), whatever other suites set."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('tessera_reid'):
        yield

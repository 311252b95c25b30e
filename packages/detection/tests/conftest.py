import os

import pytest

os.environ.setdefault('MPLBACKEND', 'Agg')


@pytest.fixture(autouse=True)
def _seed():
    import numpy as np
    import torch
    torch.manual_seed(0)
    np.random.seed(0)
    yield


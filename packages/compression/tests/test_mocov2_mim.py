"""MoCo v2 config end to end through mim: a few iterations, the k-NN monitor logs knn/top1."""
import re

import pytest

from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim


@pytest.mark.slow
def test_mocov2_through_mim(tmp_path):
    work = tmp_path / 'moco'
    out = run_mim(['train', 'tessera-compression', 'mocov2_resnet18-w16_embedded-digits.py', '--work-dir', str(work),
                   '--cfg-options', 'train_cfg.max_epochs=1', 'train_dataloader.batch_size=64',
                   'train_dataloader.dataset.indices=192', 'default_hooks.logger.interval=1',
                   'custom_hooks.0.train_dataloader.dataset.indices=300',
                   'custom_hooks.0.val_dataloader.dataset.indices=100']).stdout
    assert re.search(r'loss: [\d.]+', out)
    top1 = float(re.search(r'knn/top1: ([\d.]+) \(weighted k-NN, k=20, T=0.07, 300 bank / 100 test', out).group(1))
    assert 0 <= top1 <= 100
    state = safe_load(str(work / 'epoch_1.pth'), map_location='cpu')['state_dict']
    assert int(state['queue_ptr']) == 3 * 64 % 1024 and state['queue'].shape == (1024, 128)
    assert 'backbone.stem.0.weight' in state and 'momentum_encoder.backbone.stem.0.weight' in state

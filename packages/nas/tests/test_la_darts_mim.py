"""The LA-DARTS search config end to end through mim: two epochs of the bi-level step on 256 images
with the latency loss, the search record written with the predictor's held-out report, the per-epoch
expected latency and the derived cell's table lookup."""
import json
import os.path as osp

import pytest
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

from tessera_nas.benchmarks import space

CONFIG = 'la-darts_nb201-c8_fmnist16.py'
SMALL = ['train_cfg.max_epochs=2', 'train_cfg.val_interval=2', 'train_dataloader.dataset.dataset.indices=256',
         'val_dataloader.dataset.indices=200', 'model.latency_predictor.steps=200', 'model.latency_lambda=0.5']

pytestmark = pytest.mark.skipif(not osp.isdir('/usr/share/datasets/fashion-mnist'),
                                reason='needs Fashion-MNIST (Debian package dataset-fashion-mnist)')


def test_la_darts_search_through_mim(tmp_path):
    work = tmp_path / 'search'
    out = run_mim(['train', 'tessera-nas', CONFIG, '--work-dir', str(work), '--cfg-options', *SMALL]).stdout
    assert 'loss_latency' in out and 'expected_latency_ms' in out and 'LA-DARTS epoch 2:' in out
    run = json.loads((work / 'la_darts_search.json').read_text())
    assert run['latency_lambda'] == 0.5 and run['predictor']['heldout']['n'] == 100
    assert [r['epoch'] for r in run['epochs']] == [1, 2] and run['epochs'][-1]['alpha_delta_max'] > 0
    final = run['final']
    assert final['canonical'] == space.canonical(final['genotype'])
    assert final['in_table'] == ('test_acc' in final)
    state = safe_load(str(work / 'epoch_2.pth'), map_location='cpu')
    assert 'latency_predictor.f.0.weight' in state['state_dict'] and 'backbone.alpha' in state['state_dict']

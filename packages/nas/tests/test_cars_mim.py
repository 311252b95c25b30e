"""The CARS search config end to end through mim: one warm-up epoch, then two generations on 256
training images write the generation record, and the checkpoint holds the evolved population."""
import json
import os.path as osp

import pytest
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

from tessera_nas.benchmarks import TabularBenchmark

CONFIG = 'cars_nb201-c8_fmnist16.py'
# 3 epochs of 256 training images (2 iterations of 128): warm-up 1 epoch, a generation after each of
# the other two, a population of 4 evaluated on 200 validation images
SMALL = ['train_cfg.max_epochs=3', 'train_cfg.val_interval=3', 'train_dataloader.dataset.indices=256',
         'val_dataloader.dataset.indices=200', 'custom_hooks.0.warmup_epochs=1', 'custom_hooks.0.interval=1',
         'model.population_size=4', 'custom_hooks.0.population_size=4']

pytestmark = pytest.mark.skipif(not osp.isdir('/usr/share/datasets/fashion-mnist'),
                                reason='needs Fashion-MNIST (Debian package dataset-fashion-mnist)')


def test_cars_search_through_mim(tmp_path):
    work = tmp_path / 'search'
    out = run_mim(['train', 'tessera-nas', CONFIG, '--work-dir', str(work), '--cfg-options', *SMALL]).stdout
    assert 'CARS: population of 4 initialised after 1 warm-up epochs' in out
    assert 'CARS generation 1' in out and 'CARS generation 2' in out
    run = json.loads((work / 'cars_generations.json').read_text())
    gens = run['generations']
    assert len(gens) == 3 and run['objective'] == 'params' and run['protection'] == 'increase'
    bench = TabularBenchmark.load()
    for g in gens[1:]:
        assert len(g['candidates']) == 8 and sum(r['kept'] for r in g['candidates']) == 4
        assert sum(r['kept_by_nsga3'] for r in g['candidates']) == 4
        assert all(r['index'] in bench for r in g['candidates'])
        assert g['weight_move_from_prev'] > 0
    # 4 initial + 2 x (4 parents + 4 offspring now + 4 offspring at the previous weights)
    assert run['evaluations'] == 4 + 2 * 12
    assert run['final_front'] and all(r['index'] in gens[-1]['population_index'] for r in run['final_front'])
    state = safe_load(str(work / 'epoch_3.pth'), map_location='cpu')
    assert state['state_dict']['population'].tolist() == gens[-1]['population_index']
    assert state['meta']['cars']['population'] == gens[-1]['population_index']

"""The GOLD-NAS search config end to end through mim: a few one-level iterations on 256 images with a
pruning step every iteration write the snapshot file, and the checkpoint holds the pruned gates."""
import json
import os.path as osp

import pytest
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

CONFIG = 'gold-nas_nb201-c8_fmnist16.py'
# one epoch of 256 training images (4 iterations of 64), a pruning step after every iteration with a
# threshold just under the initial sigmoid(~0) = 0.5, so that the steps really prune
SMALL = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=256',
         'val_dataloader.dataset.indices=200', 'custom_hooks.0.warmup_iters=0', 'custom_hooks.0.interval=1',
         'custom_hooks.0.threshold=0.4999', 'custom_hooks.0.num_per_step=2']

pytestmark = pytest.mark.skipif(not osp.isdir('/usr/share/datasets/fashion-mnist'),
                                reason='needs Fashion-MNIST (Debian package dataset-fashion-mnist)')


def test_gold_nas_search_through_mim(tmp_path):
    work = tmp_path / 'search'
    out = run_mim(['train', 'tessera-nas', CONFIG, '--work-dir', str(work), '--cfg-options', *SMALL]).stdout
    assert 'loss_resource' in out and 'GOLD-NAS iter 1:' in out
    run = json.loads((work / 'gold_nas_snapshots.json').read_text())
    steps, snaps = run['steps'], run['snapshots']
    assert len(steps) == 4 and all(0 <= s['num_pruned'] <= 2 for s in steps)
    assert snaps[0]['num_active'] == 24 and snaps[0]['iter'] == 0
    pruned = sum(s['num_pruned'] for s in steps)
    assert snaps[-1]['num_active'] == 24 - pruned and sum(len(s['pruned']) for s in snaps) == pruned
    state = safe_load(str(work / 'epoch_1.pth'), map_location='cpu')
    assert int(state['state_dict']['backbone.active'].sum()) == 24 - pruned
    assert state['meta']['gold_nas']['pruner']['lam'] == steps[-1]['lambda']

"""ABS end to end through mim on the embedded digits: search a few iterations, derive + fine-tune, test."""
import json
import re

import pytest
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

SEARCH = 'abs-search_resnet18-w16_embedded-digits.py'
FINETUNE = 'abs-finetune_resnet18-w16_embedded-digits.py'
# One epoch of a 128-image subset (2 iterations), evaluated on 100 held-out digits.
SMALL = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=128',
         'val_dataloader.dataset.indices=100', 'test_dataloader.dataset.indices=100', 'param_scheduler=[]']


@pytest.mark.slow
def test_search_then_finetune_then_test_through_mim(tmp_path):
    search = tmp_path / 'search'
    out = run_mim(['train', 'tessera-compression', SEARCH, '--work-dir', str(search), '--cfg-options', *SMALL]).stdout
    assert re.search(r'loss_bops: [\d.]+', out) and re.search(r'accuracy/top1: [\d.]+', out)
    state = safe_load(str(search / 'epoch_1.pth'), map_location='cpu')['state_dict']
    assert sum(k.endswith('quantizer.thresholds') for k in state) == 2 * 19
    assert sum(k.endswith('bn1.thresholds') for k in state) == 8

    tune = tmp_path / 'tune'
    selection = tmp_path / 'selection.json'
    opts = SMALL + [f'model.supernet_ckpt={search / "epoch_1.pth"}', f'model.selection_file={selection}']
    out = run_mim(['train', 'tessera-compression', FINETUNE, '--work-dir', str(tune), '--cfg-options', *opts]).stdout
    assert 'ABS derived network' in out
    chosen = json.loads(selection.read_text())
    assert sum(chosen['histogram'].values()) == 19 and chosen['bops'] <= chosen['max_bops']
    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-compression', FINETUNE, '--checkpoint', str(tune / 'epoch_1.pth'),
             '--work-dir', str(tmp_path / 'test'), '--out', str(metrics_file), '--cfg-options', *opts])
    assert set(json.loads(metrics_file.read_text())) == {'accuracy/top1', 'accuracy/top5'}

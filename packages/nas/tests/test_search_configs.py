"""The PC-DARTS and second-order DARTS search configs end to end through mim: a few iterations on
a small supernet write genotype.json and the cell PNGs, and the checkpoint tests."""
import json

import pytest
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

# 4 initial channels, 3 cells, 64 + 64 images in batches of 32, one epoch, 100 val/test images
SMALL = ['model.backbone.init_channels=4', 'model.backbone.layers=3', 'model.head.in_channels=64',
         'train_dataloader.dataset.dataset.indices=128', 'train_dataloader.batch_size=32',
         'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
         'val_dataloader.dataset.indices=100', 'test_dataloader.dataset.indices=100']


def check_search_outputs(work):
    genotype = json.loads((work / 'genotype.json').read_text())
    assert len(genotype['normal']) == 8 and genotype['normal_concat'] == [2, 3, 4, 5]
    for cell in ('normal', 'reduce'):
        assert (work / f'genotype_{cell}.png').read_bytes()[:4] == b'\x89PNG'


@pytest.mark.slow
def test_pc_darts_search_through_mim(tmp_path):
    config = 'pc-darts_search_c8-l5_fashion-mnist.py'
    work = tmp_path / 'search'
    out = run_mim(['train', 'tessera-nas', config, '--work-dir', str(work), '--cfg-options', *SMALL,
                   'model.warmup_epochs=0']).stdout
    assert 'edge weights (normal)' in out and 'loss_arch' in out
    check_search_outputs(work)
    ckpt = safe_load(str(work / 'epoch_1.pth'), map_location='cpu')
    state = ckpt['state_dict']
    assert state['backbone.betas_normal'].shape == (14,) and state['backbone.alphas_reduce'].shape == (14, 8)
    assert len(ckpt['optimizer']['architecture']['param_groups'][0]['params']) == 4  # alphas and betas
    assert ckpt['optimizer']['architecture']['param_groups'][0]['lr'] == 6e-4
    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-nas', config, '--checkpoint', str(work / 'epoch_1.pth'), '--work-dir',
             str(tmp_path / 'test'), '--out', str(metrics_file), '--cfg-options', *SMALL])
    metrics = json.loads(metrics_file.read_text())
    assert 0 <= metrics['accuracy/top1'] <= metrics['accuracy/top5'] <= 100


@pytest.mark.slow
def test_second_order_darts_search_through_mim(tmp_path):
    work = tmp_path / 'search'
    out = run_mim(['train', 'tessera-nas', 'darts_search_c8-l5_2nd-order_fashion-mnist.py', '--work-dir', str(work),
                   '--cfg-options', *SMALL, 'train_dataloader.dataset.dataset.indices=64']).stdout
    assert 'loss_arch' in out and 'arch_grad_norm' in out
    check_search_outputs(work)

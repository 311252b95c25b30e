"""End to end through mim: GWD (decoded-box loss) and the smooth-L1 baseline train a few iterations on tiny
rotated canvases, evaluate with DOTAMetric; `mim test` reloads the GWD checkpoint."""
import json
import re

import pytest

from tessera_core.testing import run_mim

GWD = 'rotated-retinanet-le90_resnet18-w16_fpn_gwd_rotated-digit-canvas.py'
ENV = {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}


def _small(data_root):
    opts = ['train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'default_hooks.checkpoint.interval=4',
            'default_hooks.logger.interval=2', 'train_dataloader.batch_size=4', 'val_dataloader.batch_size=4',
            'test_dataloader.batch_size=4']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data_root}', f'{loader}.dataset.generator.num_train=16',
                 f'{loader}.dataset.generator.num_val=4']
    return opts


@pytest.mark.slow
def test_mim_train_and_test_gwd_rotated_retinanet(tmp_path):
    work, data_root = tmp_path / 'work', tmp_path / 'canvases'
    out = run_mim(['train', 'tessera-detection', GWD, '--work-dir', str(work), '--cfg-options', *_small(data_root)],
                  env=ENV).stdout
    assert re.search(r'Iter\(train\) \[4/4\].*loss_cls: [\d.]+\s+loss_bbox: [\d.]+', out)
    assert re.search(r'dota/mAP: [\d.]+\s+dota/mAP_50: [\d.]+\s+dota/mAP_75: [\d.]+', out)
    out_json = tmp_path / 'metrics.json'
    out = run_mim(['test', 'tessera-detection', GWD, '--checkpoint', str(work / 'iter_4.pth'), '--work-dir',
                   str(tmp_path / 'test'), '--out', str(out_json), '--cfg-options', *_small(data_root)],
                  env=ENV).stdout
    metrics = json.loads(out_json.read_text())
    assert {'dota/mAP', 'dota/mAP_50', 'dota/mAP_75'} <= set(metrics)

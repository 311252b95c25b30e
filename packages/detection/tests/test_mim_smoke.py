"""End to end through mim: `mim train` a few iterations on a tiny generated dataset, then `mim test`."""
import json
import re

import pytest

from tessera_core.testing import run_mim

CONFIG = 'retinanet_resnet18-w16_fpn_digit-canvas.py'
# One intra-op thread: when other jobs share the 2 cores, torch's OpenMP threads wait on each other and
# an iteration measured 20-80x slower than with a single thread (see configs/digit_canvas/README.md).
ENV = {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}


def _small(data_root):
    opts = ['train_cfg.max_iters=20', 'train_cfg.val_interval=20', 'default_hooks.checkpoint.interval=20',
            'train_dataloader.batch_size=4', 'val_dataloader.batch_size=4', 'test_dataloader.batch_size=4']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data_root}', f'{loader}.dataset.generator.num_train=32',
                 f'{loader}.dataset.generator.num_val=8']
    return opts


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work = tmp_path_factory.mktemp('work')
    data_root = tmp_path_factory.mktemp('data') / 'canvases'
    out = run_mim(['train', 'tessera-detection', CONFIG, '--work-dir', str(work),
                   '--cfg-options', *_small(data_root)], env=ENV).stdout
    return work, data_root, out


def test_mim_train_generates_data_trains_and_evaluates(trained):
    work, data_root, out = trained
    assert 'generating 40 digit canvases' in out
    assert (data_root / 'annotations' / 'instances_val.json').is_file()
    assert re.search(r'Iter\(train\) \[20/20\].*loss_cls', out)
    assert re.search(r'coco/bbox_mAP: [\d.]+\s+coco/bbox_mAP_50: [\d.]+', out)
    assert (work / 'iter_20.pth').is_file()
    assert (work / 'detections.png').is_file()


def test_mim_test_reports_bbox_map(trained, tmp_path):
    work, data_root, _ = trained
    out_json = tmp_path / 'metrics.json'
    out = run_mim(['test', 'tessera-detection', CONFIG, '--checkpoint', str(work / 'iter_20.pth'),
                   '--work-dir', str(tmp_path), '--out', str(out_json), '--cfg-options', *_small(data_root)],
                  env=ENV).stdout
    assert 'generating' not in out  # the data of the train run is reused
    assert 'coco/bbox_mAP' in out
    metrics = json.loads(out_json.read_text())
    assert {'coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75'} <= set(metrics)
    assert all(0.0 <= metrics[k] <= 1.0 for k in ('coco/bbox_mAP', 'coco/bbox_mAP_50'))
    assert (tmp_path / 'detections.png').is_file()

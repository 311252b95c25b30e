"""The N2UQ W2A2 config end to end through mim: QAT from a full-precision checkpoint (load_from),
then mim test of the result, then export + integer inference of the trained checkpoint."""
import json
import os.path as osp
import re

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

import tessera_compression
from tessera_compression.export import build_integer_model, export_quantized
from tessera_compression.registry import MODELS

CONFIG = 'n2uq-w2a2_resnet18-w16_fashion-mnist.py'
CONFIG_PATH = osp.join(osp.dirname(tessera_compression.__file__), 'configs', 'n2uq', CONFIG)
# one epoch of 256 training images (2 iterations of 128), tested on 200 test images
SMALL = ['train_dataloader.dataset.indices=256', 'test_dataloader.dataset.indices=200',
         'val_dataloader.dataset.indices=200', 'train_cfg.val_interval=2']


def test_qat_from_a_full_precision_checkpoint_then_test_and_export(tmp_path):
    cfg = Config.fromfile(CONFIG_PATH)
    with DefaultScope.overwrite_default_scope('tessera_compression'):
        fp = MODELS.build(cfg.model.model)  # the ordinary classifier the config wraps
        fp.init_weights()
    fp_ckpt = tmp_path / 'fp.pth'
    torch.save(dict(state_dict=fp.state_dict(), meta=dict()), str(fp_ckpt))

    work = tmp_path / 'work'
    out = run_mim(['train', 'tessera-compression', CONFIG, '--work-dir', str(work), '--cfg-options',
                   f'load_from={fp_ckpt}', *SMALL]).stdout
    assert f'Load checkpoint from {fp_ckpt}' in out
    ckpt = work / 'epoch_1.pth'
    state = safe_load(str(ckpt), map_location='cpu')['state_dict']
    fp_state = fp.state_dict()
    # started from the FP weights: two Adam steps (lr <= 6.25e-4) move each weight by at most ~1.3e-3
    delta = (state['model.backbone.layer2.0.conv1.weight'] - fp_state['backbone.layer2.0.conv1.weight']).abs()
    assert 0 < delta.max() < 2e-3
    lengths = [k for k in state if k.endswith('act_quantizer.lengths')]
    assert len(lengths) == 19 and all(state[k].shape == (3,) for k in lengths)
    assert any(not torch.allclose(state[k], torch.full((3,), 2 / 3)) for k in lengths)  # thresholds trained
    assert 'model.backbone.stem.0.act_quantizer.lengths' not in state and 'model.head.fc.weight' in state

    metrics_file = tmp_path / 'metrics.json'
    out = run_mim(['test', 'tessera-compression', CONFIG, '--checkpoint', str(ckpt), '--work-dir',
                   str(tmp_path / 'test'), '--out', str(metrics_file), '--cfg-options', *SMALL]).stdout
    metrics = json.loads(metrics_file.read_text())
    assert set(metrics) == {'accuracy/top1', 'accuracy/top5'}
    printed = re.search(r'Epoch\(test\).*accuracy/top1: ([\d.]+)', out)
    assert printed and float(printed.group(1)) == round(metrics['accuracy/top1'], 4)
    assert 0 <= metrics['accuracy/top1'] <= metrics['accuracy/top5'] <= 100

    with DefaultScope.overwrite_default_scope('tessera_compression'):
        model = MODELS.build(cfg.model)
    model.load_state_dict(state)
    model.eval()
    integer_model = build_integer_model(model, export_quantized(model))
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(integer_model(x), model(x), rtol=1e-4, atol=1e-5)

"""KD config end to end through mim: a teacher built from tessera-core's demo config is trained for a
few iterations (in this process), then the eighth-width student is distilled from its checkpoint."""
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from tessera_core.config import package_config_path
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

SMALL = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=128',
         'val_dataloader.dataset.indices=100']


def train_teacher(path, iters: int = 4) -> None:
    """A few SGD steps of the demo config's model on real digits, saved as a checkpoint."""
    from tessera_compression.registry import DATASETS, MODELS
    cfg = Config.fromfile(package_config_path('tessera_core', 'demo/resnet18-w16_embedded-digits.py'))
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)))
    data = DATASETS.build(dict(type='EmbeddedDigits', split='train', indices=32 * iters,
                               pipeline=[dict(type='PackClsInputs')]))
    model.train()
    for i in range(iters):
        items = [data[j] for j in range(32 * i, 32 * (i + 1))]
        model.train_step(dict(inputs=[d['inputs'] for d in items], data_samples=[d['data_samples'] for d in items]),
                         optim)
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), str(path))


@pytest.mark.slow
def test_teacher_then_kd_through_mim(tmp_path):
    teacher_ckpt = tmp_path / 'teacher.pth'
    train_teacher(teacher_ckpt)
    work = tmp_path / 'kd'
    out = run_mim(['train', 'tessera-compression', 'kd_resnet18-w16-to-w8_embedded-digits.py', '--work-dir', str(work),
                   '--cfg-options', *SMALL, f'model.teacher_ckpt={teacher_ckpt}',
                   'default_hooks.logger.interval=1']).stdout
    assert re.search(r'student\.loss: [\d.]+', out) and re.search(r'distill\.loss_kd: [\d.]+', out)
    assert re.search(r'accuracy/top1: [\d.]+', out)
    state = safe_load(str(work / 'epoch_1.pth'), map_location='cpu')['state_dict']
    assert state and all(k.startswith('student.') for k in state)  # the teacher is not saved
    assert state['student.backbone.stem.0.weight'].shape[0] == 8

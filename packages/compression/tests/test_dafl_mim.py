"""DAFL and its noise baseline end to end through mim: a LeNet-5 teacher checkpoint (a few steps on real
digits), then the data-free LeNet-5-half student, then the generator probe tool on its checkpoint."""
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from tessera_core.config import package_config_path
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

SMALL = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=16',
         'train_dataloader.dataset.length=48', 'val_dataloader.dataset.indices=100', 'default_hooks.logger.interval=1']


def lenet5_teacher(path, iters: int = 4) -> str:
    """A few Adam steps of lenet5_embedded-digits.py's model on real digits, saved as a checkpoint."""
    from mmengine.registry import DefaultScope

    from tessera_compression.registry import DATASETS, MODELS
    cfg = Config.fromfile(package_config_path('tessera_compression', 'dafl/lenet5_embedded-digits.py'))
    with DefaultScope.overwrite_default_scope('tessera_compression'):
        model = MODELS.build(cfg.model)
        model.init_weights()
        optim = build_optim_wrapper(model, dict(optimizer=dict(type='Adam', lr=1e-3)))
        data = DATASETS.build(dict(type='EmbeddedDigits', split='train', indices=32 * iters,
                                   pipeline=cfg.train_dataloader.dataset.pipeline))
        model.train()
        for i in range(iters):
            items = [data[j] for j in range(32 * i, 32 * (i + 1))]
            model.train_step(dict(inputs=[d['inputs'] for d in items],
                                  data_samples=[d['data_samples'] for d in items]), optim)
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), str(path))
    return str(path)


@pytest.mark.slow
def test_dafl_then_noise_baseline_then_probe_through_mim(tmp_path):
    teacher = lenet5_teacher(tmp_path / 'teacher.pth')
    work = tmp_path / 'dafl'
    config = 'dafl_lenet5-to-lenet5-half_embedded-digits.py'
    out = run_mim(['train', 'tessera-compression', config, '--work-dir', str(work),
                   '--cfg-options', *SMALL, f'model.teacher_ckpt={teacher}']).stdout
    for key in ('generator.loss_oh', 'generator.loss_a', 'generator.loss_ie', 'distill.loss_kd'):
        assert re.search(rf'{re.escape(key)}: -?[\d.]+', out), key
    assert re.search(r'accuracy/top1: [\d.]+', out)
    ckpt = safe_load(str(work / 'epoch_1.pth'), map_location='cpu')
    state = ckpt['state_dict']
    assert any(k.startswith('generator.') for k in state) and any(k.startswith('student.') for k in state)
    assert not any(k.startswith('teacher.') for k in state)
    assert set(ckpt['optimizer']) == {'student', 'generator'}
    assert int(state['step']) == 3  # 48 seeds / batch 16

    out = run_mim(['train', 'tessera-compression', 'noise-kd_lenet5-to-lenet5-half_embedded-digits.py',
                   '--work-dir', str(tmp_path / 'noise'), '--cfg-options', *SMALL,
                   f'model.teacher_ckpt={teacher}']).stdout
    assert re.search(r'distill\.loss_kd: [\d.]+', out) and 'generator.loss' not in out
    assert set(safe_load(str(tmp_path / 'noise' / 'epoch_1.pth'), map_location='cpu')['optimizer']) == {'student'}

    png = tmp_path / 'grid.png'
    out = run_mim(['run', 'tessera-compression', 'dafl_samples',
                   str(package_config_path('tessera_compression', 'dafl/' + config)), str(work / 'epoch_1.pth'),
                   '--num', '64', '--batch', '32', '--png', str(png), '--compare-init',
                   '--teacher-ckpt', teacher]).stdout
    counts = re.search(r'trained generator: teacher classes \[([\d, ]+)\]', out)
    assert counts and sum(int(c) for c in counts.group(1).split(',')) == 64
    assert 'initial generator' in out and png.stat().st_size > 0
    # the fresh initialisation of --compare-init is the same on every call (seeded before the model is built)
    again = run_mim(['run', 'tessera-compression', 'dafl_samples',
                     str(package_config_path('tessera_compression', 'dafl/' + config)), str(work / 'epoch_1.pth'),
                     '--num', '64', '--batch', '32', '--compare-init', '--teacher-ckpt', teacher]).stdout
    initial = [re.search(r'initial generator: .*', o).group(0) for o in (out, again)]
    assert initial[0] == initial[1]

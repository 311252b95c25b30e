"""End to end: `mim train` then `mim test` of the CLIP config on a slice of the embedded digits."""
import json

import pytest

from tessera_core.testing import run_mim

CONFIG = 'clip_resnet18-w16_embedded-digits.py'


@pytest.mark.slow
def test_mim_train_then_test(tmp_path):
    work = tmp_path / 'work'
    run_mim(['train', 'tessera-multimodal', CONFIG, '--work-dir', str(work), '--cfg-options',
             'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=128', 'train_dataloader.batch_size=64',
             'val_dataloader.dataset.indices=100', 'test_dataloader.dataset.indices=100',
             'default_hooks.logger.interval=1'], cwd=str(tmp_path))
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    out = tmp_path / 'metrics.json'
    proc = run_mim(['test', 'tessera-multimodal', CONFIG, '--checkpoint', str(ckpt), '--work-dir', str(work),
                    '--out', str(out), '--cfg-options', 'test_dataloader.dataset.indices=100'], cwd=str(tmp_path))
    assert 'clip/zeroshot_top1' in proc.stdout
    metrics = json.loads(out.read_text())
    for key in ('clip/zeroshot_top1', 'clip/i2t_recall@1', 'clip/t2i_recall@1'):
        assert 0.0 <= metrics[key] <= 100.0, key
    assert (work / 'zero_shot_predictions.png').is_file()

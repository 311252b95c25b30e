"""End to end: `mim train` then `mim test` of the autoregressive captioner on a slice of the embedded digits."""
import json

import pytest

from tessera_core.testing import run_mim

CONFIG = 'ar-captioner_resnet18-w16_captioned-digits.py'


@pytest.mark.slow
def test_mim_train_then_test(tmp_path):
    work = tmp_path / 'work'
    run_mim(['train', 'tessera-multimodal', CONFIG, '--work-dir', str(work), '--cfg-options',
             'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=128', 'train_dataloader.batch_size=64',
             'val_dataloader.dataset.indices=40', 'test_dataloader.dataset.indices=40',
             'default_hooks.logger.interval=1'], cwd=str(tmp_path))
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    assert (work / 'caption_grid.png').is_file()
    out = tmp_path / 'metrics.json'
    proc = run_mim(['test', 'tessera-multimodal', CONFIG, '--checkpoint', str(ckpt), '--work-dir', str(work),
                    '--out', str(out), '--cfg-options', 'test_dataloader.dataset.indices=40'], cwd=str(tmp_path))
    assert 'caption/CIDEr' in proc.stdout
    metrics = json.loads(out.read_text())
    for key in ('caption/BLEU-1', 'caption/BLEU-4', 'caption/ROUGE_L', 'caption/CIDEr'):
        assert 0.0 <= metrics[key] <= 10.0, key
    assert (work / 'test_caption_grid.png').is_file()

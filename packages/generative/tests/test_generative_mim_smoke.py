"""End to end: `mim train` then `mim test` of the VAE config on a slice of the embedded digits."""
import json
import math
import os.path as osp

import cv2
import pytest

from tessera_core.testing import run_mim

CONFIG = 'conv-vae_z16_embedded-digits.py'


@pytest.mark.slow
def test_mim_train_then_test(tmp_path):
    work = tmp_path / 'work'
    run_mim(['train', 'tessera-generative', CONFIG, '--work-dir', str(work), '--cfg-options',
             'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=200',
             'val_dataloader.dataset.indices=100', 'test_dataloader.dataset.indices=100',
             'model.num_importance_samples=4', 'default_hooks.logger.interval=1'], cwd=str(tmp_path))
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    out = tmp_path / 'metrics.json'
    proc = run_mim(['test', 'tessera-generative', CONFIG, '--checkpoint', str(ckpt), '--work-dir', str(work),
                    '--out', str(out), '--cfg-options', 'test_dataloader.dataset.indices=100',
                    'model.num_importance_samples=4'], cwd=str(tmp_path))
    assert 'vae/nelbo' in proc.stdout
    metrics = json.loads(out.read_text())
    nelbo, rec, kl = metrics['vae/nelbo'], metrics['vae/rec_bce'], metrics['vae/kl']
    assert nelbo == pytest.approx(rec + kl, rel=1e-4)
    # two Adam steps from a random init: the model is still close to p = 1/2 per pixel
    assert 0 < kl and 0 < nelbo < 2 * 784 * math.log(2)
    assert math.isfinite(metrics['vae/nll_is'])
    grid = cv2.imread(osp.join(str(work), 'vae_samples.png'))
    assert grid is not None and grid.shape[1] == 8 * 28 * 3

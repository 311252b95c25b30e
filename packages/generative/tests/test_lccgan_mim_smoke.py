"""End to end: a tiny feature network with the tool, then `mim train` of the LCCGAN embedded-digits config for
a few iterations (8 autoencoder iterations, the LCC fit, 2 GAN iterations), evaluated with FID / IS / PR."""
import importlib.util
import json
import os.path as osp
from pathlib import Path

import pytest

import tessera_generative
from tessera_core.testing import run_mim

CONFIG = 'lccgan_d3_embedded-digits.py'
PKG = osp.dirname(tessera_generative.__file__)


@pytest.mark.slow
def test_mim_train_lccgan(tmp_path):
    from tessera_generative.evaluation.feature_extractor import default_checkpoint
    cache = tmp_path / 'cache'
    featnet_cfg = osp.join(PKG, 'configs', 'feature_nets', 'featnet-w32_embedded-digits.py')
    ckpt = Path(default_checkpoint(featnet_cfg, str(cache)))
    spec = importlib.util.spec_from_file_location('train_feature_net', osp.join(PKG, 'tools', 'train_feature_net.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.train_feature_net(featnet_cfg, str(ckpt), work_dir=str(tmp_path / 'featnet'), cfg_options=[
        'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=128', 'val_dataloader.dataset.indices=100'])
    work = tmp_path / 'work'
    proc = run_mim(['train', 'tessera-generative', CONFIG, '--work-dir', str(work), '--cfg-options',
                    'model.ae_iters=8', 'train_cfg.max_iters=10', 'train_cfg.val_interval=10',
                    'train_dataloader.batch_size=16', 'model.lcc_cfg.num_points=128', 'model.lcc_cfg.epochs=1',
                    'val_dataloader.dataset.indices=60', 'val_dataloader.batch_size=30',
                    'custom_hooks.0.interval=2', 'custom_hooks.0.num_samples=16', 'default_hooks.logger.interval=1',
                    'default_hooks.checkpoint.interval=10'],
                   cwd=str(tmp_path), env={'TESSERA_FEATURE_NET_CACHE': str(cache), 'OMP_NUM_THREADS': '1'})
    out = proc.stdout
    assert 'loss_ae' in out and 'loss_disc' in out and 'loss_gen' in out
    assert 'LCCGAN bases fitted on 128 embeddings (D=100, M=128, d=3)' in out
    scalars = [json.loads(line) for line in (next(work.glob('*/vis_data/scalars.json'))).read_text().splitlines()]
    val = [s for s in scalars if 'FID/fid' in s][-1]
    assert val['FID/fid'] > 0 and 0.0 <= val['PR/precision'] <= 1.0
    assert (work / 'samples' / 'iter_10.png').is_file() and (work / 'iter_10.pth').is_file()

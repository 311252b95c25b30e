"""End to end: train a tiny feature network with the tool, then `mim train` the DCGAN config for a few
iterations on the embedded digits, evaluating FID / IS / precision-recall in that network's features."""
import importlib.util
import json
import os.path as osp
from pathlib import Path

import pytest
from PIL import Image

import tessera_generative
from tessera_core.testing import run_mim

CONFIG = 'dcgan_embedded-digits.py'
PKG = osp.dirname(tessera_generative.__file__)


@pytest.mark.slow
def test_feature_net_tool_then_mim_train_dcgan(tmp_path):
    from tessera_generative.evaluation.feature_extractor import default_checkpoint
    cache = tmp_path / 'cache'
    featnet_cfg = osp.join(PKG, 'configs', 'feature_nets', 'featnet-w32_embedded-digits.py')
    ckpt = Path(default_checkpoint(featnet_cfg, str(cache)))     # where the metrics look for it
    # the tool, in this process (one interpreter start less): 2 iterations on 128 digits
    spec = importlib.util.spec_from_file_location('train_feature_net', osp.join(PKG, 'tools', 'train_feature_net.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    meta = tool.train_feature_net(featnet_cfg, str(ckpt), work_dir=str(tmp_path / 'featnet'), cfg_options=[
        'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=128', 'val_dataloader.dataset.indices=100'])
    assert ckpt.is_file() and 'accuracy/top1' in meta['metrics']
    work = tmp_path / 'work'
    proc = run_mim(['train', 'tessera-generative', CONFIG, '--work-dir', str(work), '--cfg-options',
                    'train_cfg.max_iters=3', 'train_cfg.val_interval=3', 'train_dataloader.batch_size=16',
                    'val_dataloader.dataset.indices=60', 'val_dataloader.batch_size=30',
                    'custom_hooks.0.interval=2', 'custom_hooks.0.num_samples=16', 'default_hooks.logger.interval=1'],
                   cwd=str(tmp_path), env={'TESSERA_FEATURE_NET_CACHE': str(cache), 'OMP_NUM_THREADS': '1'})
    out = proc.stdout
    assert 'loss_disc' in out and 'loss_gen' in out
    assert f'Loads checkpoint by local backend from path: {ckpt}' in out
    scalars = [json.loads(line) for line in (next(work.glob('*/vis_data/scalars.json'))).read_text().splitlines()]
    val = [s for s in scalars if 'FID/fid' in s][-1]
    assert val['FID/fid'] > 0 and 1.0 <= val['IS/is'] <= 10.0 + 1e-6
    assert 0.0 <= val['PR/precision'] <= 1.0 and 0.0 <= val['PR/recall'] <= 1.0
    assert val['FID-EMA/fid'] > 0 and val['FID-EMA/fid'] != val['FID/fid']   # the EMA generator's own images
    for name in ('iter_2.png', 'iter_3.png'):
        png = Image.open(work / 'samples' / name)
        assert png.size[1] == 2 * (2 * 30 + 2)                # 2 rows of 28 px + padding, scale 2
    assert (work / 'iter_3.pth').is_file()

"""End to end on Fashion-MNIST (issue 19's second data set): the Fashion-MNIST feature network has a cache entry
of its own (never the digits network's), then a tiny `mim train` of the DCGAN and LCCGAN Fashion-MNIST configs
(the digits configs with only the data and the feature network changed), evaluated with FID / IS / PR."""
import importlib.util
import json
import os.path as osp
from pathlib import Path

import pytest

import tessera_generative
from tessera_core.testing import run_mim

PKG = osp.dirname(tessera_generative.__file__)
FEATNET = osp.join(PKG, 'configs', '_base_', 'featnet-w32_fashion-mnist.py')
DIGITS_FEATNET = osp.join(PKG, 'configs', 'feature_nets', 'featnet-w32_embedded-digits.py')
FASHION_ROOT = '/usr/share/datasets/fashion-mnist'
needs_data = pytest.mark.skipif(not osp.isdir(FASHION_ROOT),
                                reason=f'{FASHION_ROOT} missing (apt-get install dataset-fashion-mnist)')


def _cfg(rel):
    import tessera_core  # noqa: F401  (tessera_core:: bases)
    from mmengine.config import Config
    return Config.fromfile(osp.join(PKG, 'configs', rel))


@pytest.mark.parametrize('rel', ['dcgan/dcgan_fashion-mnist.py', 'lccgan/lccgan_d3_fashion-mnist.py'])
def test_fashion_configs_change_only_data_and_feature_net(rel):
    cfg, digits = _cfg(rel), _cfg(rel.replace('fashion-mnist', 'embedded-digits'))
    assert cfg.model == digits.model and cfg.optim_wrapper == digits.optim_wrapper
    assert cfg.train_cfg == digits.train_cfg and cfg.train_dataloader.batch_size == digits.train_dataloader.batch_size
    train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert (train.type, train.split, train.indices, train.data_root) == ('FashionMNIST', 'train', 4000, FASHION_ROOT)
    assert (val.type, val.split, val.indices) == ('FashionMNIST', 'test', 1000)
    assert 'source' not in train and train.pipeline == [dict(type='PackClsInputs')]   # no augmentation
    nets = {e.feature_extractor.config for e in cfg.val_evaluator}
    assert nets == {'tessera_generative::_base_/featnet-w32_fashion-mnist.py'}
    assert len(cfg.val_evaluator) == len(digits.val_evaluator)


def test_fashion_feature_net_has_its_own_cache_key(tmp_path):
    from tessera_generative.evaluation.feature_extractor import default_checkpoint, resolve_config
    assert resolve_config('tessera_generative::_base_/featnet-w32_fashion-mnist.py') == FEATNET
    fashion, digits = default_checkpoint(FEATNET, str(tmp_path)), default_checkpoint(DIGITS_FEATNET, str(tmp_path))
    assert osp.basename(fashion).startswith('featnet-w32_fashion-mnist_') and fashion != digits
    cfg = _cfg('_base_/featnet-w32_fashion-mnist.py')
    assert cfg.train_dataloader.dataset.type == 'FashionMNIST' and cfg.train_dataloader.dataset.indices == 4000
    assert cfg.model == _cfg('feature_nets/featnet-w32_embedded-digits.py').model   # same network, other data


@needs_data
@pytest.mark.slow
def test_mim_train_dcgan_and_lccgan_fashion(tmp_path):
    from tessera_generative.evaluation.feature_extractor import default_checkpoint
    cache = tmp_path / 'cache'
    ckpt = Path(default_checkpoint(FEATNET, str(cache)))
    spec = importlib.util.spec_from_file_location('train_feature_net', osp.join(PKG, 'tools', 'train_feature_net.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    meta = tool.train_feature_net(FEATNET, str(ckpt), work_dir=str(tmp_path / 'featnet'), cfg_options=[
        'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=128', 'val_dataloader.dataset.indices=100'])
    assert ckpt.is_file() and 'accuracy/top1' in meta['metrics']
    common = ['val_dataloader.dataset.indices=60', 'val_dataloader.batch_size=30', 'train_dataloader.batch_size=16',
              'custom_hooks.0.interval=2', 'custom_hooks.0.num_samples=16', 'default_hooks.logger.interval=1']
    runs = {'dcgan_fashion-mnist.py': ['model.noise_size=3', 'train_cfg.max_iters=3', 'train_cfg.val_interval=3'],
            'lccgan_d3_fashion-mnist.py': ['model.ae_iters=8', 'train_cfg.max_iters=10', 'train_cfg.val_interval=10',
                                           'model.lcc_cfg.num_points=128', 'model.lcc_cfg.epochs=1',
                                           'default_hooks.checkpoint.interval=10']}
    for config, extra in runs.items():
        work = tmp_path / config[:-3]
        proc = run_mim(['train', 'tessera-generative', config, '--work-dir', str(work), '--cfg-options',
                        *common, *extra],
                       cwd=str(tmp_path), env={'TESSERA_FEATURE_NET_CACHE': str(cache), 'OMP_NUM_THREADS': '1'})
        out = proc.stdout
        assert 'loss_disc' in out and 'loss_gen' in out
        assert f'Loads checkpoint by local backend from path: {ckpt}' in out    # the Fashion-MNIST network
        if config.startswith('lccgan'):
            assert 'loss_ae' in out and 'LCCGAN bases fitted on 128 embeddings (D=100, M=128, d=3)' in out
        scalars = [json.loads(line) for line in next(work.glob('*/vis_data/scalars.json')).read_text().splitlines()]
        val = [s for s in scalars if 'FID/fid' in s][-1]
        assert val['FID/fid'] > 0 and 1.0 <= val['IS/is'] <= 10.0 + 1e-6
        assert 0.0 <= val['PR/precision'] <= 1.0 and 0.0 <= val['PR/recall'] <= 1.0
        iters = int(extra[1 if config.startswith('dcgan') else 2].split('=')[1])
        assert (work / f'iter_{iters}.pth').is_file()

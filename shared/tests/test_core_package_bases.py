"""``tessera_<pkg>::`` base configs (tessera_core.config.package_bases)."""
import os.path as osp

import pytest
from mmengine.config import Config

import tessera_core
from tessera_core.config import package_config_path

CORE_CONFIGS = osp.join(osp.dirname(tessera_core.__file__), 'configs')


def write(tmp_path, text, name='cfg.py'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_core_base_resolves_in_the_installed_package():
    path = package_config_path('tessera_core', '_base_/datasets/fashion_mnist.py')
    assert path == osp.join(CORE_CONFIGS, '_base_', 'datasets', 'fashion_mnist.py')


def test_config_inherits_core_base_with_mmengine_scope_semantics(tmp_path):
    cfg = Config.fromfile(write(tmp_path, (
        "_base_ = ['tessera_core::_base_/datasets/embedded_digits_32px.py',\n"
        "          'tessera_core::_base_/schedules/adamw_cosine.py']\n"
        "default_scope = 'tessera_reid'\n"
        "train_dataloader = dict(batch_size=7)\n")))
    assert cfg.train_dataloader.batch_size == 7
    assert cfg.train_dataloader.dataset.type == 'EmbeddedDigits'
    assert [t['type'] for t in cfg.train_dataloader.dataset.pipeline] == ['Pad', 'RandomShiftCrop', 'PackClsInputs']
    # dicts with a type from a tessera_core:: base are built in tessera-core's scope ...
    assert cfg.train_dataloader.dataset._scope_ == 'tessera_core'
    assert cfg.train_dataloader.sampler._scope_ == 'tessera_core'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW' and cfg.optim_wrapper.optimizer._scope_ == 'tessera_core'
    # ... and the inheriting config's own values are untouched
    assert cfg.default_scope == 'tessera_reid' and '_scope_' not in cfg.train_dataloader


def test_local_bases_keep_no_scope(tmp_path):
    base = write(tmp_path, "model = dict(type='ResNet', depth=18)\n", 'base.py')
    cfg = Config.fromfile(write(tmp_path, f"_base_ = ['{osp.basename(base)}']\n"))
    assert '_scope_' not in cfg.model


def test_missing_base_names_package_and_path(tmp_path):
    cfg = write(tmp_path, "_base_ = ['tessera_core::_base_/datasets/nope.py']\n")
    with pytest.raises(FileNotFoundError) as info:
        Config.fromfile(cfg)
    message = str(info.value)
    assert 'tessera_core' in message and 'tessera-core' in message
    assert osp.join(CORE_CONFIGS, '_base_', 'datasets', 'nope.py') in message


def test_base_of_a_package_not_installed(tmp_path):
    cfg = write(tmp_path, "_base_ = ['tessera_nonexistent::_base_/x.py']\n")
    with pytest.raises(ModuleNotFoundError, match=r'tessera_nonexistent is not installed.*pip install tessera-nonexistent'):
        Config.fromfile(cfg)


def test_other_packages_still_go_to_mmengine(tmp_path):
    """Non-Tessera ``pkg::`` bases keep mmengine's own resolution (and its own error)."""
    cfg = write(tmp_path, "_base_ = ['mmunknown::_base_/x.py']\n")
    with pytest.raises(AssertionError, match='mmengine does not support to load mmunknown config'):
        Config.fromfile(cfg)


@pytest.mark.parametrize('name', ['embedded_digits.py', 'embedded_digits_32px.py', 'fashion_mnist.py',
                                  'fashion_mnist_32px.py'])
def test_dataset_bases_build_their_pipelines(name):
    """Every dataset base's pipelines build (the 32 px ones pad 28 -> 32)."""
    import numpy as np
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(osp.join(CORE_CONFIGS, '_base_', 'datasets', name))
    with DefaultScope.overwrite_default_scope('tessera_core'):
        for pipeline in (cfg.train_dataloader.dataset.pipeline, cfg.val_dataloader.dataset.pipeline):
            out = Compose(pipeline)(dict(img=np.zeros((28, 28), np.uint8), gt_label=3, img_shape=(28, 28)))
            size = 32 if '32px' in name else 28
            assert tuple(out['inputs'].shape[-2:]) == (size, size)

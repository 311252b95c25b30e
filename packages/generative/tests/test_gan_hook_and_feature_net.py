"""The fixed-noise sample hook writes PNG grids; the trained feature network is built from its config,
loaded strictly (a checkpoint of another architecture is refused, naming both files) and cached."""
import logging
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from tessera_generative.engine import GenSampleGridHook, make_grid
from tessera_generative.evaluation import TrainedFeatureExtractor, load_feature_net
from tessera_generative.evaluation import feature_extractor as fe
from tessera_generative.registry import MODELS

FEATNET = 'tessera_generative::feature_nets/featnet-w32_embedded-digits.py'


def small_gan(ema=True):
    return MODELS.build(dict(
        type='BaseGAN', noise_size=8,
        generator=dict(type='DCGANGenerator', output_scale=28, base_channels=4),
        discriminator=dict(type='DCGANDiscriminator', input_scale=28, base_channels=4),
        ema_config=dict(momentum=0.1) if ema else None))


def fake_runner(model, work_dir, it, max_iters=10):
    return SimpleNamespace(model=model, work_dir=str(work_dir), rank=0, iter=it, max_iters=max_iters,
                           logger=logging.getLogger('gan-hook-test'))


def test_make_grid_layout():
    imgs = torch.stack([torch.full((1, 2, 3), 10.0 * i) for i in range(5)])
    grid = make_grid(imgs, nrow=3, padding=1, pad_value=255)
    assert grid.shape == (2 * 3 + 1, 3 * 4 + 1, 3) and grid.dtype == np.uint8
    assert (grid[1:3, 1:4] == 0).all() and (grid[4:6, 5:8] == 40).all()   # image 0 and image 4
    assert (grid[0] == 255).all()


@pytest.mark.parametrize('ema', [True, False])
def test_sample_hook_writes_fixed_noise_pngs(tmp_path, ema):
    gan = small_gan(ema).train()
    hook = GenSampleGridHook(interval=2, num_samples=6, nrow=3, scale=2)
    for it in range(4):
        hook.after_train_iter(fake_runner(gan, tmp_path, it, max_iters=4), it)
    assert [osp.basename(p) for p in hook.written] == ['iter_2.png', 'iter_4.png']
    png = np.asarray(Image.open(hook.written[0]))
    one = make_grid(torch.zeros(6, 1, 28, 28), 3).shape
    width = 2 * one[1] + 8 if ema else one[1]                 # generator | EMA side by side
    assert png.shape == (2 * one[0], 2 * width, 3)
    assert gan.training                                        # restored after drawing in eval mode
    # fixed noise: the same generator draws the same grid
    again = hook.render(gan)
    np.testing.assert_array_equal(again, png)


def _featnet_cfg():
    return Config.fromfile(fe.resolve_config(FEATNET))


def _save(model, path):
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), path)


def test_feature_net_is_loaded_strictly_and_cached(tmp_path):
    cfg = _featnet_cfg()
    net = MODELS.build(cfg.model)
    ckpt = fe.default_checkpoint(fe.resolve_config(FEATNET), str(tmp_path))
    _save(net, ckpt)
    fe.clear_cache()
    ext = TrainedFeatureExtractor(FEATNET, checkpoint=str(ckpt), output='features')
    logits = TrainedFeatureExtractor(FEATNET, cache_dir=str(tmp_path), output='logits', train_if_missing=False)
    imgs = torch.rand(3, 1, 28, 28) * 255
    feats = ext(imgs)
    assert feats.shape == (3, 64) and logits(imgs).shape == (3, 10)
    assert ext.net is logits.net                               # one network per (config, checkpoint) per process
    net.eval()
    with torch.no_grad():
        x = (imgs - 127.5) / 127.5
        torch.testing.assert_close(feats, net.extract_feat(x)[-1])
        torch.testing.assert_close(logits(imgs), net.head(net.extract_feat(x)))


def test_a_checkpoint_of_another_architecture_is_named(tmp_path):
    cfg = _featnet_cfg()
    cfg.model.backbone.arch = 'w16'
    cfg.model.head.in_channels = 32
    ckpt = tmp_path / 'w16.pth'
    _save(MODELS.build(cfg.model), ckpt)
    fe.clear_cache()
    with pytest.raises(ValueError) as err:
        load_feature_net(fe.resolve_config(FEATNET), str(ckpt))
    msg = str(err.value)
    assert str(ckpt) in msg and 'featnet-w32_embedded-digits.py' in msg and 'size mismatch' in msg


def test_missing_checkpoint_is_refused_or_trained(tmp_path, monkeypatch):
    ext = TrainedFeatureExtractor(FEATNET, cache_dir=str(tmp_path), train_if_missing=False)
    with pytest.raises(FileNotFoundError, match='train_feature_net.py'):
        ext(torch.zeros(1, 1, 28, 28))
    calls = []

    def fake_run(cmd, **kwargs):                               # stands in for the training subprocess
        calls.append(cmd)
        _save(MODELS.build(_featnet_cfg().model), cmd[cmd.index('--out') + 1])
        return SimpleNamespace(returncode=0, stdout='')

    monkeypatch.setattr(fe.subprocess, 'run', fake_run)
    monkeypatch.setenv(fe.CACHE_ENV, str(tmp_path / 'cache'))
    ext = TrainedFeatureExtractor(FEATNET)
    assert ext(torch.zeros(2, 1, 28, 28)).shape == (2, 64)
    expected = fe.default_checkpoint(fe.resolve_config(FEATNET), str(tmp_path / 'cache'))
    assert calls and calls[0][-1] == expected and ext.checkpoint == expected
    assert calls[0][1].endswith(osp.join('tools', 'train_feature_net.py'))


def test_the_cached_checkpoint_name_follows_the_effective_config(tmp_path):
    path = fe.resolve_config(FEATNET)
    name = osp.basename(fe.default_checkpoint(path, str(tmp_path)))
    assert name.startswith('featnet-w32_embedded-digits_') and len(name) == len('featnet-w32_embedded-digits_') + 12
    assert fe.default_checkpoint(path, str(tmp_path)) == fe.default_checkpoint(path, str(tmp_path))
    text = open(path).read()
    edited = tmp_path / 'featnet-w32_embedded-digits.py'
    edited.write_text(text.replace("'../_base_/default_runtime.py'", "'tessera_generative::_base_/default_runtime.py'")
                      + '\nmax_epochs = 7\ntrain_cfg = dict(max_epochs=max_epochs)\n')
    assert osp.basename(fe.default_checkpoint(str(edited), str(tmp_path))) != name
    comment_only = tmp_path / 'c' / 'featnet-w32_embedded-digits.py'
    comment_only.parent.mkdir()
    comment_only.write_text('# another comment\n' + text.replace("'../_base_/default_runtime.py'",
                                                                    "'tessera_generative::_base_/default_runtime.py'"))
    assert osp.basename(fe.default_checkpoint(str(comment_only), str(tmp_path))) == name

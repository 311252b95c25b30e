"""End to end: `mim train` of the MLM and LaBERT digit configs, LaBERT initialised from the MLM checkpoint,
then mask-predict from the trained checkpoint at every level gives the level's length, and `mim test` scores
every level with CaptionMetric."""
import json
import os.path as osp

import pytest
import torch

from tessera_core.testing import run_mim


@pytest.mark.slow
def test_mim_train_mlm_then_labert(tmp_path):
    mlm = tmp_path / 'mlm'
    common = ['train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=128', 'train_dataloader.batch_size=64',
              'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=1']
    run_mim(['train', 'tessera-multimodal', 'mlm_bert-w64_embedded-digits.py', '--work-dir', str(mlm),
             '--cfg-options', *common], cwd=str(tmp_path))
    assert (mlm / 'epoch_1.pth').is_file()
    work = tmp_path / 'labert'
    proc = run_mim(['train', 'tessera-multimodal', 'labert_resnet18-w16_embedded-digits.py', '--work-dir',
                    str(work), '--cfg-options', *common, f'model.init_bert={mlm / "epoch_1.pth"}'],
                   cwd=str(tmp_path))
    assert 'loss_mlm' in (proc.stdout or '') + (proc.stderr or '')
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()

    from mmengine.config import Config
    from tessera_core.engine import safe_load
    from tessera_multimodal.registry import MODELS
    import tessera_multimodal
    cfg = Config.fromfile(osp.join(osp.dirname(tessera_multimodal.__file__), 'configs', 'labert',
                                   'labert_resnet18-w16_embedded-digits.py'))
    model = MODELS.build(cfg.model).eval()
    model.load_state_dict(safe_load(str(ckpt), map_location='cpu')['state_dict'])
    x = torch.randn(2, 1, 28, 28)
    for level, (_, hi) in enumerate(model.levels.bins, 1):
        assert model.generate(x, level).shape == (2, hi)

    out = tmp_path / 'metrics.json'
    proc = run_mim(['test', 'tessera-multimodal', 'labert_resnet18-w16_embedded-digits.py', '--checkpoint', str(ckpt),
                    '--work-dir', str(work), '--out', str(out), '--cfg-options', 'test_dataloader.dataset.indices=40'],
                   cwd=str(tmp_path))
    metrics = json.loads(out.read_text())
    for level, (_, hi) in enumerate(model.levels.bins, 1):
        assert 0.0 <= metrics[f'caption/gen-L{level}/CIDEr'] <= 10.0, level
        assert 0.0 <= metrics[f'caption/gen-L{level}/words'] <= hi, level

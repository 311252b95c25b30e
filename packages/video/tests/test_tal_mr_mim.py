"""TAL-MR end to end through mim: snippet features of a few untrimmed moving-digit videos (random-init extractor,
cached once), one epoch of the localizer with and without the regularizers, AR@AN and mAP on held-out videos,
then ``mim test`` from the checkpoint."""
import json

import pytest

from tessera_core.testing import run_mim

CONFIG = 'tal_mr/tal-mr_c3d-r18-w16-snippets_untrimmed-digits.py'
BASELINE = 'tal_mr/tal-mr-noreg_c3d-r18-w16-snippets_untrimmed-digits.py'


def _small(tmp_path):
    cache = str(tmp_path / 'features')
    opts = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1',
            'default_hooks.logger.interval=1']
    for loader, n in (('train_dataloader', 6), ('val_dataloader', 3), ('test_dataloader', 3)):
        opts += [f'{loader}.dataset.checkpoint=None', f'{loader}.dataset.cache_dir={cache}',
                 f'{loader}.dataset.videos.num_videos={n}', f'{loader}.dataset.videos.num_frames=128']
    return opts


@pytest.mark.slow
def test_mim_train_and_test_tal_mr(tmp_path):
    env = dict(OMP_NUM_THREADS='1')
    opts = _small(tmp_path)
    out = run_mim(['train', 'tessera-video', CONFIG, '--work-dir', str(tmp_path / 'mr'), '--cfg-options', *opts],
                  env=env).stdout
    for word in ('loss_cls', 'loss_reg', 'loss_intra', 'loss_inter', 'proposal/AR@100', 'detection/mAP@0.5'):
        assert word in out
    assert len(list((tmp_path / 'features').glob('snippets_*.npz'))) == 2   # train and test videos, cached
    base = run_mim(['train', 'tessera-video', BASELINE, '--work-dir', str(tmp_path / 'base'), '--cfg-options',
                    *opts], env=env).stdout
    assert 'proposal/AR@100' in base and len(list((tmp_path / 'features').glob('*.npz'))) == 2   # cache reused
    metrics = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-video', CONFIG, '--checkpoint', str(tmp_path / 'mr' / 'epoch_1.pth'), '--work-dir',
             str(tmp_path / 'test'), '--out', str(metrics), '--cfg-options', *opts], env=env)
    result = json.loads(metrics.read_text())
    assert 0 <= result['proposal/AR@100'] <= 100 and 0 <= result['detection/mAP@0.5'] <= 100

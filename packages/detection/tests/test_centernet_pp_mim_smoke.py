"""CenterNet++ end to end through mim: `mim train` 12 iterations of the digit-canvas config on a tiny dataset;
the center losses are logged beside CornerNet's and COCO AP / AR@100 are written."""
import re

from tessera_core.testing import run_mim

from test_cornernet_mim_smoke import ENV, small_opts

CONFIG = 'centernet-pp_resnet18-w16_fpn_digit-canvas.py'


def test_mim_train_centernet_pp_logs_center_losses_and_evaluates(tmp_path):
    out = run_mim(['train', 'tessera-detection', CONFIG, '--work-dir', str(tmp_path / 'work'),
                   '--cfg-options', *small_opts(tmp_path / 'canvases')], env=ENV).stdout
    logs = re.findall(r'Iter\(train\).*det_loss: ([\d.]+).*ct_det_loss: ([\d.]+)\s+ct_off_loss: ([\d.]+)', out)
    assert len(logs) == 3, out[-3000:]
    assert all(float(ct) > 0 for _, ct, _ in logs)
    assert re.search(r'coco/bbox_mAP: [\d.]+\s+coco/bbox_mAP_50: [\d.]+', out)
    assert re.search(r'coco/bbox_AR@100: [\d.]+', out)
    assert (tmp_path / 'work' / 'iter_12.pth').is_file()

"""CornerNet baseline end to end through mim: `mim train` 12 iterations of the digit-canvas config on a tiny
dataset (mmdet's CornerNet + CornerHead on the FPN's finest level), then COCO AP and AR@100."""
import re

from tessera_core.testing import run_mim

from digit_canvas_mim import ENV, small_opts

CONFIG = 'cornernet_resnet18-w16_fpn_digit-canvas.py'


def test_mim_train_cornernet_logs_corner_losses_and_evaluates(tmp_path):
    out = run_mim(['train', 'tessera-detection', CONFIG, '--work-dir', str(tmp_path / 'work'),
                   '--cfg-options', *small_opts(tmp_path / 'canvases')], env=ENV).stdout
    assert re.findall(r'Iter\(train\) \[\s*(\d+)/12\]', out) == ['4', '8', '12'], out[-3000:]
    assert len(re.findall(r'Iter\(train\).*det_loss: [\d.]+\s+off_loss: [\d.]+\s+pull_loss: [\d.]+\s+'
                          r'push_loss: [\d.]+', out)) == 3, out[-3000:]
    assert re.search(r'coco/bbox_mAP: [\d.]+\s+coco/bbox_mAP_50: [\d.]+', out)
    assert re.search(r'coco/bbox_AR@100: [\d.]+', out)
    assert (tmp_path / 'work' / 'iter_12.pth').is_file()

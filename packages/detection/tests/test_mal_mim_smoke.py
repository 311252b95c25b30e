"""MAL end to end through mim: `mim train` 12 iterations of the digit-canvas config on a tiny dataset."""
import re

from tessera_core.testing import run_mim

from digit_canvas_mim import ENV, small_opts

CONFIG = 'mal_retinanet_resnet18-w16_fpn_digit-canvas.py'


def test_mim_train_mal_logs_the_schedules_and_evaluates(tmp_path):
    opts = small_opts(tmp_path / 'canvases')
    out = run_mim(['train', 'tessera-detection', CONFIG, '--work-dir', str(tmp_path / 'work'),
                   '--cfg-options', *opts], env=ENV).stdout
    lines = re.findall(r'Iter\(train\) \[\s*(\d+)/12\].*', out)
    assert lines == ['4', '8', '12'], out[-3000:]
    logs = re.findall(r'Iter\(train\).*positive_bag_loss: [\d.]+\s+negative_bag_loss: [\d.]+.*'
                      r'mal_bag_k: ([\d.]+)\s+mal_depress_ratio: ([\d.]+)', out)
    assert len(logs) == 3, out[-3000:]
    ks = [float(k) for k, _ in logs]
    assert ks[0] > ks[-1] >= 1  # the bag shrinks (window-averaged k_t)
    assert max(float(r) for _, r in logs) > 0  # depression acted
    assert re.search(r'coco/bbox_mAP: [\d.]+\s+coco/bbox_mAP_50: [\d.]+', out)
    assert (tmp_path / 'work' / 'iter_12.pth').is_file()

"""CPN end to end through mim: `mim train` 12 iterations of the digit-canvas config on a tiny dataset."""
import re

from tessera_core.testing import run_mim

from digit_canvas_mim import ENV, small_opts

CONFIG = 'cpn_resnet18-w16_fpn_digit-canvas.py'


def test_mim_train_cpn_logs_proposals_and_evaluates(tmp_path):
    # after 12 iterations the binary classifier still sits near its 0.1 prior: a lower tau lets
    # proposals through to the multi-class classifier and the metric
    opts = small_opts(tmp_path / 'canvases') + ['model.bbox_head.reject_thr=0.05']
    out = run_mim(['train', 'tessera-detection', CONFIG, '--work-dir', str(tmp_path / 'work'),
                   '--cfg-options', *opts], env=ENV).stdout
    lines = re.findall(r'Iter\(train\) \[\s*(\d+)/12\].*', out)
    assert lines == ['4', '8', '12'], out[-3000:]
    train = [line for line in out.splitlines() if re.search(r'Iter\(train\) \[\s*\d+/12\]', line)]
    keys = ('det_loss', 'off_loss', 'loss_binary', 'loss_class', 'cpn_proposals', 'cpn_rejected')
    logs = [{k: float(re.search(rf'{k}: ([\d.]+)', line).group(1)) for k in keys} for line in train]
    assert len(logs) == 3, out[-3000:]
    assert all(log['cpn_proposals'] > 0 for log in logs)  # proposals were enumerated
    assert all(log['loss_binary'] > 0 and log['loss_class'] > 0 for log in logs)  # both classifiers trained
    assert all(0 <= log['cpn_rejected'] <= 1 for log in logs)
    assert 'pull_loss' not in out and 'push_loss' not in out  # no associative embeddings
    assert re.search(r'coco/bbox_mAP: [\d.]+\s+coco/bbox_mAP_50: [\d.]+', out)
    assert (tmp_path / 'work' / 'iter_12.pth').is_file()

"""PyCenterNet (CenterNet++'s multi-resolution head) end to end through mim: `mim train` 12 iterations of the
digit-canvas config on a tiny dataset; every loss term is logged, COCO AP / AR@100 are written."""
import re

from tessera_core.testing import run_mim

from digit_canvas_mim import ENV, small_opts

CONFIG = 'pycenternet_resnet18-w16_fpn_digit-canvas.py'
TERMS = ('loss_cls', 'loss_pts_init', 'loss_pts_refine', 'loss_heatmap', 'loss_offset', 'loss_sem')


def test_mim_train_pycenternet_logs_all_terms_and_evaluates(tmp_path):
    out = run_mim(['train', 'tessera-detection', CONFIG, '--work-dir', str(tmp_path / 'work'),
                   '--cfg-options', *small_opts(tmp_path / 'canvases')], env=ENV).stdout
    lines = [line for line in out.splitlines() if 'Iter(train)' in line]
    assert len(lines) == 3, out[-3000:]
    for term in TERMS:
        found = [re.search(rf'{term}: ([\d.]+)', line) for line in lines]
        assert all(found), (term, lines)  # a finite value of every term in every logged iteration
    heat = [float(re.search(r'loss_heatmap: ([\d.]+)', line).group(1)) for line in lines]
    assert heat[-1] < heat[0]  # the keypoint heatmaps learn
    assert "type='PyCenterNetHead'" in out and re.search(r'coco/bbox_AR@100: [\d.]+', out), out[-3000:]
    assert (tmp_path / 'work' / 'iter_12.pth').is_file()

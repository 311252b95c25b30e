"""RankedGalleryHook: which gallery images a query row shows, in which order, framed in which colour."""
import types

import numpy as np
import pytest
import torch
from PIL import Image

from tessera_core.structures import ClsDataSample
from tessera_reid.engine import RankedGalleryHook, draw_ranked_grid
from tessera_reid.engine.hooks.ranked_gallery_hook import FRAME
from tessera_reid.registry import HOOKS


def sample(idx, feat, pid, camid, is_query):
    s = ClsDataSample(metainfo=dict(sample_idx=idx, camid=camid, is_query=is_query)).set_gt_label(pid)
    s.set_field(torch.tensor(feat, dtype=torch.float32), 'pred_feature', dtype=torch.Tensor)
    return s


class Images:
    """A dataset stand-in: image i is uniformly grey at level 20 * i."""

    def get_data_info(self, idx):
        return dict(img=np.full((8, 4), 20 * idx, np.uint8))


def fake_runner(tmp_path):
    logged = []
    return types.SimpleNamespace(log_dir=str(tmp_path), iter=7, visualizer=None,
                                 val_dataloader=types.SimpleNamespace(dataset=Images()),
                                 test_dataloader=types.SimpleNamespace(dataset=Images()),
                                 logger=types.SimpleNamespace(info=logged.append), logged=logged)


# query 0 (pid 0, cam 0) at x=0; gallery: 1 pid 0 cam 0 at 0.05 (same camera: skipped), 2 pid 5 at 0.1 (false),
# 3 pid 0 cam 1 at 0.2 (true), 4 pid 6 at 0.3 (false), 5 pid 0 cam 2 at 0.9 (true)
OUTPUTS = [sample(0, [0.0], 0, 0, True), sample(1, [0.05], 0, 0, False), sample(2, [0.1], 5, 1, False),
           sample(3, [0.2], 0, 1, False), sample(4, [0.3], 6, 2, False), sample(5, [0.9], 0, 2, False)]


def test_ranking_skips_same_camera_matches_and_marks_hits(tmp_path):
    hook = HOOKS.build(dict(type='RankedGalleryHook', num_queries=3, topk=3, cell=(8, 4)))
    runner = fake_runner(tmp_path)
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0, None, OUTPUTS[:3])
    hook.after_val_iter(runner, 1, None, OUTPUTS[3:])
    (query, ranked), = hook.rank()            # one query in the set -> one row
    assert query['idx'] == 0
    assert [(g['idx'], hit) for g, hit in ranked] == [(2, False), (3, True), (4, False)]
    hook.after_val_epoch(runner)
    assert hook.last_path == str(tmp_path / 'ranked_gallery' / 'val_7.png') and runner.logged
    grid = np.asarray(Image.open(hook.last_path))
    frame, gap = 3, 4
    # the frame colours of the four cells (query, then the three ranked images), read at their top-left pixel
    xs = [gap] + [gap + c * (4 + 2 * frame + gap) + gap for c in (1, 2, 3)]
    colours = [tuple(grid[gap, x]) for x in xs]
    assert colours == [FRAME['query'], FRAME['false'], FRAME['true'], FRAME['false']]
    # and the images inside are the right ones: gallery 3 is grey level 60
    assert tuple(grid[gap + frame, xs[2] + frame]) == (60, 60, 60)


def test_without_cameras_nothing_is_skipped_and_test_mode(tmp_path):
    hook = RankedGalleryHook(topk=2, on_val=False, cell=(8, 4))
    runner = fake_runner(tmp_path)
    outputs = [sample(s.metainfo['sample_idx'], s.pred_feature.tolist(), int(s.gt_label), None,
                      s.metainfo['is_query']) for s in OUTPUTS]
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0, None, outputs)
    assert hook.rank() == []                  # on_val=False: nothing collected
    hook.before_test_epoch(runner)
    hook.after_test_iter(runner, 0, None, outputs)
    assert [(g['idx'], hit) for g, hit in hook.rank()[0][1]] == [(1, True), (2, False)]
    hook.after_test_epoch(runner)
    assert (tmp_path / 'ranked_gallery' / 'test_0.png').is_file()


def test_grid_shape_and_errors():
    grid = draw_ranked_grid([[np.zeros((8, 4, 3), np.uint8)] * 3], [[None, True, False]], cell=(16, 8))
    assert grid.shape == (4 + 16 + 6 + 4, 3 * (8 + 6 + 4) + 8, 3)
    with pytest.raises(ValueError, match='valid'):
        RankedGalleryHook(distance='l1')
    hook = RankedGalleryHook()
    with pytest.raises(KeyError, match='sample_idx and is_query'):
        hook._collect([ClsDataSample(metainfo=dict(camid=0))])

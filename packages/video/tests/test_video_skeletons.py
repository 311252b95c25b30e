"""Skeleton readers (NTU .skeleton text, pyskl .pkl through the restricted unpickler) and the SYNTHETIC
NTU-layout action set: determinism, splits, per-subject bones, and classes that only joint co-occurrence separates."""
import os
import pickle

import numpy as np
import pytest
from mmengine.config import Config

import tessera_video
import tessera_video.datasets  # noqa: F401
from tessera_core.engine.checkpoint_errors import UntrustedCheckpointError
from tessera_video.datasets import (NTU_BONES, NTU_JOINTS, PoseDataset, SkeletonFileError, SyntheticSkeletonActions,
                                    load_pose_annotations, read_ntu_skeleton)
from tessera_video.registry import DATASETS

BODY_INFO = '72057594037931101 0 1 1 1 1 0 0.02 -0.2 2'


def joint_line(x, y, z):
    return f'{x} {y} {z} 270.0 180.5 1000.1 520.3 0.1 0.2 0.3 0.9 2'


def write_skeleton(path, frames, joints_per_body=25):
    """frames: list of frames, each a list of (body_id, offset) bodies; joint v of a body = offset + (v, 2v, 3v)/100."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, offset in bodies:
            lines.append(BODY_INFO.replace('72057594037931101', body_id))
            lines.append(str(joints_per_body))
            lines += [joint_line(offset + v / 100, offset + 2 * v / 100, offset + 3 * v / 100)
                      for v in range(joints_per_body)]
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def test_read_ntu_skeleton_hand_written(tmp_path):
    # 3 frames: body A; bodies A and B; body B only
    path = write_skeleton(tmp_path / 'S001C002P003R001A042.skeleton',
                          [[('A', 0.0)], [('A', 1.0), ('B', 5.0)], [('B', 6.0)]])
    s = read_ntu_skeleton(path)
    assert s['total_frames'] == 3 and s['keypoint'].shape == (2, 3, 25, 3) and s['body_ids'] == ('A', 'B')
    assert s['bodies_per_frame'].tolist() == [1, 2, 1]
    assert (s['label'], s['camera'], s['performer'], s['action']) == (41, 2, 3, 42)
    np.testing.assert_allclose(s['keypoint'][0, 1, 10], [1.10, 1.20, 1.30], rtol=1e-6)
    np.testing.assert_allclose(s['keypoint'][1, 2, 24], [6.24, 6.48, 6.72], rtol=1e-6)
    assert not s['keypoint'][1, 0].any() and not s['keypoint'][0, 2].any()  # absent bodies are zeros
    assert s['frame_dir'] == 'S001C002P003R001A042'


def test_wrong_joint_count_names_the_file_and_the_count(tmp_path):
    path = write_skeleton(tmp_path / 'bad.skeleton', [[('A', 0.0)], [('A', 0.0)]], joints_per_body=24)
    with pytest.raises(SkeletonFileError, match=rf'{path}, line 4: body 0 of frame 0 has 24 joints, expected 25'):
        read_ntu_skeleton(path)
    good = write_skeleton(tmp_path / 'cut.skeleton', [[('A', 0.0)], [('A', 0.0)]])
    lines = open(good).read().splitlines()
    open(good, 'w').write('\n'.join(lines[:-5]) + '\n')
    with pytest.raises(SkeletonFileError, match=f'{good}: the file ends at line'):
        read_ntu_skeleton(good)


def test_pkl_round_trip_and_splits(tmp_path):
    ds = SyntheticSkeletonActions(split='xsub_train', num_subjects=3, num_train_subjects=2, repetitions=1,
                                  num_frames=8)
    path = str(tmp_path / 'synthetic.pkl')
    ds.dump(path)
    anns = load_pose_annotations(path)
    assert len(anns) == 3 * 3 * 6  # subjects x cameras x actions
    train = PoseDataset(path, split='xsub_train')
    assert len(train) == len(ds) == 2 * 3 * 6
    item, ref = train[0], ds[0]
    assert item['frame_dir'] == ref['frame_dir'] and np.array_equal(item['keypoint'], ref['keypoint'])
    assert len(PoseDataset(path, split='xview_val')) == 3 * 6  # camera 1 only
    with pytest.raises(KeyError, match=r"no split 'train'; valid: \['xsub_train'"):
        load_pose_annotations(path, split='train')


def test_pkl_with_code_is_refused_and_bad_annotations_are_named(tmp_path):
    class Evil:
        def __reduce__(self):
            return os.system, ('echo pwned',)

    evil = tmp_path / 'evil.pkl'
    evil.write_bytes(pickle.dumps(dict(split={}, annotations=[Evil()])))
    with pytest.raises(UntrustedCheckpointError, match='references posix.system|references os.system'):
        load_pose_annotations(str(evil))
    bad = tmp_path / 'bad.pkl'
    ann = dict(frame_dir='x', label=0, total_frames=5, keypoint=np.zeros((1, 4, 25, 3), np.float32))
    bad.write_bytes(pickle.dumps(dict(split={}, annotations=[ann])))
    with pytest.raises(ValueError, match=r'bad.pkl, annotation 0 \(x\): keypoint has 4 frames but total_frames is 5'):
        load_pose_annotations(str(bad))


def test_synthetic_set_is_deterministic_and_split_like_ntu():
    kw = dict(num_subjects=4, num_train_subjects=2, repetitions=1, num_frames=16)
    a, b = SyntheticSkeletonActions(split='xsub_train', **kw), SyntheticSkeletonActions(split='xsub_train', **kw)
    assert all(np.array_equal(a[i]['keypoint'], b[i]['keypoint']) for i in range(len(a)))
    other = SyntheticSkeletonActions(split='xsub_train', seed=1, **kw)
    assert not np.array_equal(a[0]['keypoint'], other[0]['keypoint'])
    val = SyntheticSkeletonActions(split='xsub_val', **kw)
    assert {x['subject'] for x in a} == {0, 1} and {x['subject'] for x in val} == {2, 3}
    assert {x['camera'] for x in SyntheticSkeletonActions(split='xview_train', **kw)} == {2, 3}
    assert {x['camera'] for x in SyntheticSkeletonActions(split='xview_val', **kw)} == {1}
    assert np.bincount([x['label'] for x in a]).tolist() == [2 * 3] * 6
    assert a[0]['keypoint'].shape == (1, 16, 25, 3) and len(NTU_JOINTS) == 25
    with pytest.raises(ValueError, match=r"valid: \('xsub_train'"):
        SyntheticSkeletonActions(split='train')


def bone_lengths(kp):
    return np.stack([np.linalg.norm(kp[:, j] - kp[:, p], axis=-1) for j, p in NTU_BONES], axis=-1)  # (T, 24)


def test_bones_are_rigid_per_subject_and_differ_between_subjects():
    ds = SyntheticSkeletonActions(split='xsub_train', num_subjects=3, num_train_subjects=2, repetitions=1,
                                  num_frames=16, noise_std=0.0)
    per_subject = {}
    for x in ds:
        lengths = bone_lengths(x['keypoint'][0])
        assert np.allclose(lengths, lengths[0], atol=1e-5)  # rigid over time, whatever the action and camera
        per_subject.setdefault(x['subject'], []).append(lengths[0])
    for s, ls in per_subject.items():
        assert np.allclose(ls, ls[0], atol=1e-5)  # same bones in every sample of a subject
    assert not np.allclose(per_subject[0][0], per_subject[1][0], atol=1e-3)
    # camera space: the subject stands 2.5-3.5 m in front of the camera
    assert all(2.0 < x['keypoint'][0, :, 0, 2].mean() < 4.0 for x in ds)


def test_wave_together_vs_alternately_needs_both_hands():
    # classes 3 (together) and 4 (alternately): each hand alone moves alike; only their co-occurrence differs
    ds = SyntheticSkeletonActions(split='xsub_train', num_subjects=10, num_train_subjects=9, repetitions=4,
                                  num_frames=32, noise_std=0.0)
    stats = {3: [], 4: []}
    for x in ds:
        if x['label'] in stats:
            kp = x['keypoint'][0]
            hand_l, hand_r = kp[:, 7, 1] - kp[:, 5, 1], kp[:, 11, 1] - kp[:, 9, 1]  # hand heights over the elbows
            corr = np.corrcoef(hand_l, hand_r)[0, 1]
            stats[x['label']].append((corr, hand_l.std(), hand_r.std(), hand_l.mean(), hand_r.mean()))
    together, alternately = np.array(stats[3]), np.array(stats[4])
    assert (together[:, 0] > 0.8).all() and (alternately[:, 0] < -0.8).all()
    for k in range(1, 5):  # per-hand statistics: same distributions (means within a tenth of their spread)
        spread = np.concatenate([together[:, k], alternately[:, k]]).std()
        assert abs(together[:, k].mean() - alternately[:, k].mean()) < 0.25 * spread + 1e-3


def test_base_config_builds_the_set():
    cfg = Config.fromfile(tessera_video.__path__[0] + '/configs/_base_/datasets/synthetic_skeletons.py')
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(train) == 216 and len(DATASETS.build(cfg.val_dataloader.dataset)) == 144
    item = train[0]
    assert item['inputs'].shape == (2, 32, 25, 3) and not item['inputs'][1].any()

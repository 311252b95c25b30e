"""Untrimmed moving digits (motion only inside the ground-truth segments, in the labelled direction) and the
ActivityNet / THUMOS readers (round trip, end < start refused with the file and index)."""
import json

import numpy as np
import pytest

import tessera_video.datasets  # noqa: F401
from tessera_video.datasets import (DIRECTIONS, TemporalAnnotationError, UntrimmedMovingDigits, load_activitynet_json,
                                    load_thumos_annotations)
from tessera_video.datasets.untrimmed_moving_digits import place_instances


@pytest.fixture(scope='module')
def videos():
    return UntrimmedMovingDigits(split='test', num_videos=6, num_frames=200, shake_prob=0.0)


def test_motion_happens_exactly_in_the_segments_in_the_labelled_direction(videos):
    for i in range(len(videos)):
        item = videos[i]
        img, segments, labels = item['img'], item['gt_segments'], item['gt_labels']
        assert img.shape == (200, 64, 64) and 2 <= len(segments) <= 5
        assert (np.diff(segments.ravel()) > 0).all()  # sorted, non-overlapping, non-empty
        assert segments[0, 0] >= 4 and (segments[1:, 0] - segments[:-1, 1] >= 4).all() and segments[-1, 1] <= 196
        moving = np.array([not np.array_equal(img[t], img[t - 1]) for t in range(1, 200)])
        expected = np.zeros(199, bool)
        for s, e in segments:
            expected[s - 1:e - 1] = True  # frame t (s <= t < e) differs from frame t - 1
        assert np.array_equal(moving, expected)
        pos = item['positions']
        for (s, e), c in zip(segments, labels):
            assert (pos[e - 1] - pos[s - 1]).tolist() == [(e - s) * d for d in DIRECTIONS[c][1]]


def test_background_shakes_are_not_actions():
    shaky = UntrimmedMovingDigits(split='test', num_videos=4, num_frames=200, shake_prob=0.3)
    item = shaky[0]
    inside = np.zeros(200, bool)
    for s, e in item['gt_segments']:
        inside[s:e] = True
    still = UntrimmedMovingDigits(split='test', num_videos=4, num_frames=200, shake_prob=0.0)[0]
    assert np.array_equal(item['gt_segments'], still['gt_segments'])  # shakes don't change the ground truth
    off = (item['positions'] != still['positions']).any(1)
    assert off.any() and not (off & inside).any()


def test_activitynet_json_round_trip(videos, tmp_path):
    path = str(tmp_path / 'gt.json')
    videos.dump(path)
    raw = json.load(open(path))
    assert set(raw) == {'version', 'database'}
    loaded = load_activitynet_json(path, subset='validation')
    first = videos[0]
    got = loaded[first['video_id']]
    assert got['duration_second'] == pytest.approx(20.0) and got['fps'] == 10.0
    assert [a['segment'] for a in got['annotations']] == [(s / 10, e / 10) for s, e in first['gt_segments'].tolist()]
    assert [a['label'] for a in got['annotations']] == [DIRECTIONS[c][0] for c in first['gt_labels']]
    assert load_activitynet_json(path, subset='training') == {}


def test_bmn_style_json_and_bad_segments(tmp_path):
    flat = tmp_path / 'anet_anno_val.json'
    flat.write_text(json.dumps({'v_1': dict(duration_second=10.0, duration_frame=100,
                                            annotations=[dict(segment=[1.0, 2.5], label='jump')])}))
    assert load_activitynet_json(str(flat))['v_1']['annotations'] == [dict(segment=(1.0, 2.5), label='jump')]
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'database': {'v_2': dict(duration=5.0, annotations=[
        dict(segment=[0.0, 1.0], label='a'), dict(segment=[3.0, 2.0], label='b')])}}))
    with pytest.raises(TemporalAnnotationError, match=rf'{bad}: video v_2, annotation 1: segment end 2.0 < start 3.0'):
        load_activitynet_json(str(bad))


def test_thumos_txt(tmp_path):
    (tmp_path / 'BaseballPitch_val.txt').write_text('video_validation_0000051 67.5 75.9\n'
                                                    'video_validation_0000052 1.0 2.0\n')
    (tmp_path / 'CliffDiving_val.txt').write_text('video_validation_0000051 10.0 12.5\n')
    out = load_thumos_annotations(str(tmp_path), durations={'video_validation_0000051': 169.8})
    v = out['video_validation_0000051']
    assert v['duration_second'] == 169.8
    assert sorted((a['label'], a['segment']) for a in v['annotations']) == [('BaseballPitch', (67.5, 75.9)),
                                                                             ('CliffDiving', (10.0, 12.5))]
    assert out['video_validation_0000052']['duration_second'] is None
    (tmp_path / 'Bad_val.txt').write_text('v 1 2\nv 9.0 8.0\n')
    with pytest.raises(TemporalAnnotationError, match=r'Bad_val.txt, line 2: segment end 8.0 < start 9.0'):
        load_thumos_annotations(str(tmp_path))


def test_instance_placement():
    rng = np.random.RandomState(0)
    for _ in range(50):
        segs = place_instances(100, 4, (5, 10), 3, rng)
        starts, ends = np.array(segs).T
        assert starts[0] >= 3 and ends[-1] <= 97 and ((starts[1:] - ends[:-1]) >= 3).all()
        assert ((ends - starts >= 5) & (ends - starts <= 10)).all()
    with pytest.raises(ValueError, match='do not fit'):
        place_instances(20, 3, (8, 8), 2, rng)
    with pytest.raises(ValueError, match='at least twice that'):
        UntrimmedMovingDigits(num_videos=1, canvas_size=48, lengths=(8, 18))

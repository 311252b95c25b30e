"""tessera_core.apis on a detector: the adapter reads mmdet's pred_instances in input-image pixels."""
import mmcv
import numpy as np
import pytest

from tessera_core.apis import get_model, get_output_adapter, inference_model
from tessera_core.datasets.embedded_digits import load_digit_source
from tessera_detection.apis import DetOutputAdapter

NAME = 'retinanet_resnet18-w16_fpn_digit-canvas'


@pytest.fixture(scope='module')
def detector():
    return get_model(NAME)  # random weights: boxes are arbitrary, their bookkeeping is not


def canvas(size: int = 256) -> np.ndarray:
    """Two real scikit-learn digits (8x8 enlarged to 64x64) on a black BGR canvas."""
    images, _ = load_digit_source('sklearn')
    img = np.zeros((size, size, 3), np.uint8)
    for (y, x), digit in zip([(20, 30), (140, 150)], images[:2]):
        img[y:y + 64, x:x + 64] = mmcv.gray2bgr(digit.repeat(8, 0).repeat(8, 1))
    return img


def test_detection_result_is_boxes_scores_labels_in_input_pixels(detector, tmp_path):
    assert isinstance(get_output_adapter(type(detector).__name__, 'tessera_detection'), DetOutputAdapter)
    big = canvas(256)
    result = inference_model(detector, big, out_file=str(tmp_path / 'det.png'))
    boxes, scores, labels = result['bboxes'], result['scores'], result['labels']
    k = len(scores)
    assert 0 < k <= detector.cfg.model.test_cfg.max_per_img
    assert boxes.shape == (k, 4) and labels.shape == (k,) and labels.dtype == np.int64
    assert ((0 <= labels) & (labels < 10)).all() and result['classes'] == [str(i) for i in labels]
    assert ((scores >= detector.cfg.model.test_cfg.score_thr) & (scores <= 1)).all()
    assert (boxes[:, 2] >= boxes[:, 0]).all() and (boxes[:, 3] >= boxes[:, 1]).all()
    assert boxes.min() >= 0 and boxes.max() <= 256
    # The pipeline resizes to 128 px; the same network input from a 128 px image gives half the boxes.
    small = inference_model(detector, mmcv.imresize(big, (128, 128)))
    np.testing.assert_allclose(boxes, 2 * small['bboxes'], atol=1e-3)
    np.testing.assert_array_equal(labels, small['labels'])
    drawing = mmcv.imread(str(tmp_path / 'det.png'))
    assert drawing.shape == (256, 256, 3) and (drawing != big).any()  # boxes drawn

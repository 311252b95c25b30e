"""tessera_core.apis on a re-ID model: the adapter returns the model's retrieval embedding."""
import mmcv
import numpy as np
import pytest
import torch

from tessera_core.apis import get_model, get_output_adapter, inference_model
from tessera_core.datasets.embedded_digits import load_digit_source
from tessera_reid.apis import ReIDOutputAdapter

NAME = 'bnneck_resnet18-w16_embedded-digits'


@pytest.fixture(scope='module')
def reid_model():
    return get_model(NAME)


def test_reid_result_is_the_normalised_embedding_of_the_model(reid_model, tmp_path):
    assert isinstance(get_output_adapter(type(reid_model).__name__, 'tessera_reid'), ReIDOutputAdapter)
    images, _ = load_digit_source('sklearn')
    digits = [mmcv.imresize(img, (28, 28)) for img in images[:3]]  # real 8x8 digits at the model's 28 px
    results = inference_model(reid_model, digits, out_file=str(tmp_path / 'reid.png'))
    embeddings = np.stack([r['embedding'] for r in results])
    assert set(results[0]) == {'embedding'} and embeddings.shape == (3, 128) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)  # head: normalize=True
    with torch.no_grad():  # mode='tensor' returns the same embeddings (N, C)
        batch = reid_model.data_preprocessor(dict(inputs=[torch.from_numpy(d)[None] for d in digits]))
        expected = reid_model(batch['inputs'], mode='tensor').numpy()
    np.testing.assert_allclose(embeddings, expected, atol=1e-5)
    assert (tmp_path / 'reid_0.png').is_file() and (tmp_path / 'reid_2.png').is_file()

"""ConvVAE shapes, sampling, preprocessing, metric and errors."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from tessera_generative.engine import VAEVisualizationHook
from tessera_generative.evaluation import VAEMetric
from tessera_generative.models import ConvVAE, VAEDataPreprocessor
from tessera_generative.registry import MODELS


def test_registered_and_default_preprocessor():
    vae = MODELS.build(dict(type='ConvVAE', latent_dim=16))
    assert isinstance(vae, ConvVAE)
    assert isinstance(vae.data_preprocessor, VAEDataPreprocessor)


@pytest.mark.parametrize('arch,size', [('base', (28, 28)), ('deep', (28, 28)), ('wide', (28, 28)),
                                       ('base', (8, 8)), ('deep', (30, 26))])
def test_shapes(arch, size):
    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=5, input_size=size, arch=arch)
    x = torch.rand(3, 1, *size)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (3, 5)
    assert vae.decode(mu).shape == (3, 1, *size)
    logits, mu2, logvar2 = vae(x, mode='tensor')
    assert logits.shape == (3, 1, *size) and mu2.shape == (3, 5)
    losses = vae(x, mode='loss')
    assert set(losses) == {'loss_rec', 'loss_kl'} and all(v.dim() == 0 for v in losses.values())
    out = vae(x, mode='predict')
    assert len(out) == 3 and out[0].pred_img.shape == (1, *size)
    assert 0 <= out[0].pred_img.min() and out[0].pred_img.max() <= 1
    torch.testing.assert_close(out[1].nelbo, out[1].rec_loss + out[1].kl)
    assert vae.sample(7).shape == (7, 1, *size)


def test_explicit_arch_table_and_rgb():
    vae = ConvVAE(latent_dim=3, in_channels=3, input_size=(16, 16), arch=[(8, 3, 2, 1), (16, 3, 2, 1)])
    assert vae.decode(torch.zeros(2, 3)).shape == (2, 3, 16, 16)
    assert vae.feat_shape == (16, 4, 4)


def test_parameter_count_of_default_model():
    vae = ConvVAE(latent_dim=16)
    # encoder convs 1->32->64 (4x4), fc 64*7*7->256, heads 256->16 (x2);
    # decoder fc 16->256->3136, transposed convs 64->32->1 (4x4)
    expected = (1 * 32 * 16 + 32) + (32 * 64 * 16 + 64) + (3136 * 256 + 256) + 2 * (256 * 16 + 16) \
        + (16 * 256 + 256) + (256 * 3136 + 3136) + (64 * 32 * 16 + 32) + (32 * 1 * 16 + 1)
    assert sum(p.numel() for p in vae.parameters()) == expected == 1_688_289


def test_sampling_is_deterministic_with_a_seeded_generator():
    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=16).eval()
    a = vae.sample(6, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(123)   # the global RNG must not matter
    b = vae.sample(6, generator=torch.Generator().manual_seed(3))
    c = vae.sample(6, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)
    # the latents are standard-normal draws of that generator
    z = torch.randn(6, 16, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, torch.sigmoid(vae.decode(z)))


def test_predict_importance_sampling_and_elbo_samples():
    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=4, num_elbo_samples=3, num_importance_samples=5, importance_chunk=2).eval()
    with torch.no_grad():
        out = vae.predict(torch.rand(2, 1, 28, 28), [BaseDataElement(), BaseDataElement()])
    assert 'log_likelihood' in out[0] and out[0].log_likelihood.dim() == 0


def test_data_preprocessor_scales_uint8_to_unit_interval():
    pre = VAEDataPreprocessor()
    img = torch.tensor([[[0, 51, 255]]], dtype=torch.uint8)     # (1, 1, 3)
    out = pre(dict(inputs=[img, img]))['inputs']
    assert out.shape == (2, 1, 1, 3) and out.dtype == torch.float32
    torch.testing.assert_close(out[0, 0, 0], torch.tensor([0.0, 0.2, 1.0]))
    with pytest.raises(TypeError, match='uint8'):
        pre(dict(inputs=[img.float()]))


def test_errors_name_the_bad_value():
    with pytest.raises(KeyError, match="'huge'.*base"):
        ConvVAE(arch='huge')
    with pytest.raises(ValueError, match='out_channels, kernel'):
        ConvVAE(arch=[(8, 3, 2)])
    with pytest.raises(ValueError, match='too small'):
        ConvVAE(input_size=(2, 2), arch='deep')
    vae = ConvVAE(latent_dim=4)
    with pytest.raises(ValueError, match=r'\(N, 1, 28, 28\).*\(2, 1, 32, 32\)'):
        vae.encode(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r'\(N, 4\)'):
        vae.decode(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="'bogus'"):
        vae(torch.rand(1, 1, 28, 28), mode='bogus')


def test_metric_averages_per_image():
    metric = VAEMetric()
    samples = [dict(nelbo=torch.tensor(100.0 + i), rec_loss=torch.tensor(90.0 + i), kl=torch.tensor(10.0),
                    pred_img=torch.zeros(1, 28, 28)) for i in range(4)]
    samples[0]['log_likelihood'] = torch.tensor(-95.0)
    metric.process({}, samples)
    res = metric.compute_metrics(metric.results)
    assert res['nelbo'] == pytest.approx(101.5) and res['rec_bce'] == pytest.approx(91.5)
    assert res['kl'] == pytest.approx(10.0)
    assert res['nelbo_bpd'] == pytest.approx(101.5 / (784 * math.log(2)))
    assert 'nll_is' not in res          # only one sample had it
    with pytest.raises(KeyError, match='nelbo'):
        metric.process({}, [dict(pred_img=torch.zeros(1))])


def test_visualization_grid_layout():
    hook = VAEVisualizationHook(num_images=10, num_samples=5, ncols=4, scale=2)
    tile = np.zeros((28, 28, 3), np.uint8)
    canvas = hook.render([tile] * 10, [tile + 255] * 10, [tile] * 5)
    # 3 rows of inputs + 3 of reconstructions, a separator, 2 of samples
    assert canvas.shape == ((6 + 1 + 2) * 56, 4 * 56, 3)
    assert canvas[56:112, :56].min() == 255          # row 2 = reconstructions of row 1
    with pytest.raises(ValueError, match='num_images'):
        VAEVisualizationHook(num_images=-1)


def test_visualization_picks_evenly_spaced_images():
    hook = VAEVisualizationHook(num_images=4, num_samples=1)
    hook._reset(10)                                   # positions 0, 3, 6, 9 of the stream
    for start in range(0, 10, 3):
        n = min(3, 10 - start)
        inputs = [torch.full((1, 2, 2), start + i, dtype=torch.uint8) for i in range(n)]
        outputs = [BaseDataElement(pred_img=torch.zeros(1, 2, 2)) for _ in range(n)]
        hook._collect(None, start // 3, dict(inputs=inputs), outputs)
    assert [int(img[0, 0, 0]) for img in hook._inputs] == [0, 3, 6, 9]

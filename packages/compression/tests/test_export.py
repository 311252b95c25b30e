"""Export of integer levels plus scales, npz round trip, and the integer-level inference path
(int64 accumulation) against the fake-quantized forward."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from tessera_core.testing import randomise_batchnorms

from tessera_compression.export import (build_integer_model, export_quantized, integer_conv2d, load_quantized,
                                        save_quantized)
from tessera_compression.models import QuantConv2d, QuantLinear
from tessera_compression.registry import MODELS

CLASSIFIER = dict(type='ImageClassifier',
                  backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
                  neck=dict(type='GlobalAveragePooling'),
                  head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
METHODS = {
    'n2uq-w2a2': dict(weight_quantizer=dict(type='N2UQWeightQuantizer'),
                      act_quantizer=dict(type='N2UQActivationQuantizer'), w_bits=2, a_bits=2),
    'lsq-w3a4': dict(weight_quantizer=dict(type='LSQQuantizer', kind='weight'),
                     act_quantizer=dict(type='LSQQuantizer', kind='activation'), w_bits=3, a_bits=4),
}


def _trained_like(method, keep=('backbone.stem.0',)):
    """A converted classifier with non-trivial quantizer parameters and BatchNorm statistics, calibrated."""
    model = MODELS.build(dict(type='QuantizedModel', model=CLASSIFIER, keep_full_precision=list(keep),
                              **METHODS[method]))
    randomise_batchnorms(model)
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('act_quantizer.lengths'):
                p.copy_(torch.rand(p.shape, generator=gen) * 0.5 + 0.1)
            elif name.endswith('act_quantizer.start'):
                p.fill_(0.05)
            elif name.endswith(('act_quantizer.scale_in', 'act_quantizer.scale_out')):
                p.fill_(0.8 + 0.4 * torch.rand(1, generator=gen).item())
    model(torch.randn(8, 1, 16, 16))  # LSQ steps initialise on the first batch
    return model.eval()


@pytest.mark.parametrize('method', sorted(METHODS))
def test_export_round_trips_through_npz_and_integer_path_equals_fake_quant(method, tmp_path):
    model = _trained_like(method)
    exported = export_quantized(model)
    layers = {n: m for n, m in model.named_modules() if isinstance(m, (QuantConv2d, QuantLinear))}
    assert set(exported['layers']) == set(layers)  # the kept stem conv is not among them
    w_bits = METHODS[method]['w_bits']
    for name, layer in layers.items():
        entry = exported['layers'][name]
        codes = entry['weight_codes']
        assert codes.shape == layer.weight.shape and not codes.is_floating_point()
        assert codes.unique().numel() <= 2 ** w_bits
        scale = entry['weight_scale'].view(-1, *([1] * (codes.dim() - 1)))
        dequantized = scale * (codes.float() - entry['weight_zero_point'])
        assert torch.allclose(dequantized, layer.quantized_weight().detach(), rtol=1e-6, atol=1e-8)
    if method.startswith('n2uq'):
        assert codes.dtype == torch.uint8 and int(codes.max()) <= 3
        assert exported['layers'][name]['weight_zero_point'] == 1.5
    else:
        assert codes.dtype == torch.int8 and -4 <= int(codes.min()) and int(codes.max()) <= 3

    path = tmp_path / 'model.npz'
    save_quantized(exported, str(path))
    loaded = load_quantized(str(path))
    assert set(loaded['layers']) == set(exported['layers'])
    for name, entry in exported['layers'].items():
        for field in ('weight_codes', 'weight_scale', 'bias'):
            a, b = entry[field], loaded['layers'][name][field]
            assert (a is None and b is None) or (torch.equal(a, b) and a.dtype == b.dtype)
        assert loaded['layers'][name]['act_quantizer'] == entry['act_quantizer']
    assert all(torch.equal(loaded['float_state'][k], v) for k, v in exported['float_state'].items())
    with np.load(str(path), allow_pickle=False) as data:  # plain arrays, no pickles
        assert data['model.backbone.layer1.0.conv1/weight_codes'].dtype in (np.uint8, np.int8)

    fresh = MODELS.build(dict(type='QuantizedModel', model=CLASSIFIER, keep_full_precision=['backbone.stem.0'],
                              **METHODS[method]))  # untrained: everything comes from the file
    integer_model = build_integer_model(fresh, loaded)
    x = torch.randn(5, 1, 16, 16)
    with torch.no_grad():
        expected = model(x)
        got = integer_model(x)
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-5), (got - expected).abs().max()
    assert not torch.allclose(fresh.eval()(x), expected, atol=1e-3)  # the file carried the trained state


def test_integer_layer_accumulates_integer_codes_in_int64():
    model = _trained_like('n2uq-w2a2')
    integer_model = build_integer_model(model, export_quantized(model))
    layer = integer_model.model.backbone.layer1[0].conv1
    original = model.model.backbone.layer1[0].conv1
    x = torch.rand(2, 8, 6, 6) * 2
    a = original.act_quantizer.integer_levels(x)
    w = original.weight_quantizer.integer_levels(original.weight)
    # N2UQ weights: zero point 3/2, so the centred weight codes 2 q - 3 are odd integers
    centred_w = 2 * w.codes - 3
    acc = integer_conv2d(a.codes, centred_w, padding=1)
    assert acc.dtype == torch.int64
    expected = acc.double() * (a.scale * w.scale.view(1, -1, 1, 1) / 2).double()
    with torch.no_grad():
        assert torch.allclose(layer(x).double(), expected, rtol=1e-5, atol=1e-6)
        assert torch.allclose(layer(x), original(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('kwargs', [dict(), dict(stride=2, padding=1), dict(padding=2, dilation=2),
                                    dict(padding=1, groups=2), dict(padding='same'), dict(stride=(2, 1),
                                                                                          padding=(0, 1))])
def test_integer_conv2d_is_exact(kwargs):
    x = torch.randint(-255, 256, (2, 4, 9, 8))
    w = torch.randint(-255, 256, (6, 4 // kwargs.get('groups', 1), 3, 3))
    got = integer_conv2d(x, w, **kwargs)
    expected = F.conv2d(x.double(), w.double(), **kwargs)
    assert got.dtype == torch.int64 and torch.equal(got, expected.round().long())
    with pytest.raises(TypeError, match='integer tensors'):
        integer_conv2d(x.float(), w)


def test_exporting_an_unconverted_model_is_a_clear_error():
    model = MODELS.build(CLASSIFIER)
    with pytest.raises(ValueError, match=r'ImageClassifier has no quantized layer .* convert it first'):
        export_quantized(model)


def test_exporting_an_uncalibrated_lsq_model_is_a_clear_error():
    model = MODELS.build(dict(type='QuantizedModel', model=CLASSIFIER, keep_full_precision=['backbone.stem.0'],
                              **METHODS['lsq-w3a4']))
    with pytest.raises(ValueError, match='never calibrated; run the model on data'):
        export_quantized(model)


def test_loading_something_else_and_mismatched_models_fail_clearly(tmp_path):
    bad = tmp_path / 'bad.npz'
    np.savez(str(bad), weights=np.zeros(3))
    with pytest.raises(ValueError, match='not a tessera-quantized-v1 export'):
        load_quantized(str(bad))
    text = tmp_path / 'notes.txt'
    text.write_text('hello')
    with pytest.raises(ValueError, match='cannot read quantized export'):
        load_quantized(str(text))
    exported = export_quantized(_trained_like('n2uq-w2a2'))
    with pytest.raises(ValueError, match="layer 'model.backbone.layer1.0.conv1' that the model lacks"):
        build_integer_model(MODELS.build(CLASSIFIER), exported)

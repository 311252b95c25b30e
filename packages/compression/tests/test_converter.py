"""Model converter and QuantizedModel: which layers are swapped, weights copied, kept layers
untouched, full-precision checkpoints load into the wrapper, bits-aware size, bad-input errors."""
import copy

import pytest
import torch
from mmengine.runner.checkpoint import load_state_dict
from tessera_core.models import ImageClassifier
from tessera_core.structures import ClsDataSample
from tessera_core.testing import randomise_batchnorms
from torch import nn

from tessera_compression.analysis import count_operations, model_size
from tessera_compression.models import (LSQConv2d, QuantConv2d, QuantizedModel, QuantLinear, convert_to_quantized,
                                        convertible_layer_names)
from tessera_compression.registry import MODELS

CLASSIFIER = dict(type='ImageClassifier',
                  backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
                  neck=dict(type='GlobalAveragePooling'),
                  head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
N2UQ = dict(weight_quantizer=dict(type='N2UQWeightQuantizer'), act_quantizer=dict(type='N2UQActivationQuantizer'))
LSQ = dict(weight_quantizer=dict(type='LSQQuantizer', kind='weight'),
           act_quantizer=dict(type='LSQQuantizer', kind='activation'))
KEEP = ['backbone.stem.0', 'head.fc']
RESIDUAL_CONVS = 16 + 3  # ResNet-18: 16 3x3 convs in the stages + 3 downsample 1x1 convs


def _classifier() -> ImageClassifier:
    model = MODELS.build(CLASSIFIER)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)  # weights no initialiser would produce
    return randomise_batchnorms(model)


def test_converter_swaps_every_layer_but_the_kept_ones_and_copies_weights():
    model = _classifier()
    before = {name: m for name, m in model.named_modules()}
    fp_state = copy.deepcopy(model.state_dict())
    layers = convertible_layer_names(model)
    assert layers == [n for n, m in before.items() if type(m) in (nn.Conv2d, nn.Linear)]
    assert len(layers) == 1 + RESIDUAL_CONVS + 1
    report = convert_to_quantized(model, **N2UQ, w_bits=3, a_bits=4, keep_full_precision=KEEP)
    assert report['kept'] == sorted(KEEP) and report['skipped'] == []
    assert sorted(report['converted']) == sorted(set(layers) - set(KEEP))
    after = dict(model.named_modules())
    for name in KEEP:  # the very same modules, untouched
        assert after[name] is before[name] and type(after[name]) in (nn.Conv2d, nn.Linear)
        assert torch.equal(after[name].weight, fp_state[name + '.weight'])
    for name in report['converted']:
        layer = after[name]
        assert isinstance(layer, QuantConv2d) and layer is not before[name]
        assert (layer.weight_bits, layer.act_bits) == (3, 4)
        assert torch.equal(layer.weight, fp_state[name + '.weight'])  # copied values
        assert layer.weight is not before[name].weight  # not shared
        for attr in ('stride', 'padding', 'dilation', 'groups', 'kernel_size', 'in_channels', 'out_channels'):
            assert getattr(layer, attr) == getattr(before[name], attr)
    # BatchNorms and everything else are untouched
    state = model.state_dict()
    for key, value in fp_state.items():
        assert torch.equal(state[key], value)


def test_conversion_without_quantizers_is_exactly_the_original_network():
    # proves geometry, weights and bias are carried over: same outputs, bit for bit
    model = _classifier().eval()
    converted = copy.deepcopy(model)
    report = convert_to_quantized(converted, w_bits=32, a_bits=32)
    assert len(report['converted']) == 1 + RESIDUAL_CONVS + 1
    assert isinstance(converted.head.fc, QuantLinear) and converted.head.fc.weight_bits == 32
    x = torch.randn(3, 1, 16, 16)
    with torch.no_grad():
        assert torch.equal(converted(x), model(x))


def test_keep_list_takes_containers_and_patterns():
    model = _classifier()
    report = convert_to_quantized(model, **LSQ, w_bits=4, a_bits=4,
                                  keep_full_precision=['backbone.layer4', '*.downsample.0', 'backbone.stem.0'])
    kept = set(report['kept'])
    assert {'backbone.layer2.0.downsample.0', 'backbone.layer3.0.downsample.0', 'backbone.stem.0'} <= kept
    assert {n for n in kept if n.startswith('backbone.layer4.')} == {
        'backbone.layer4.0.conv1', 'backbone.layer4.0.conv2', 'backbone.layer4.0.downsample.0',
        'backbone.layer4.1.conv1', 'backbone.layer4.1.conv2'}
    assert len(report['converted']) == 1 + RESIDUAL_CONVS + 1 - len(kept)
    assert isinstance(model.head.fc, QuantLinear) and model.head.fc.weight_bits == 4


def test_already_quantized_and_custom_subclasses_are_left_alone():
    model = nn.Sequential(LSQConv2d(1, 4, 3, w_bits=2, a_bits=2), nn.Conv2d(4, 4, 1))
    report = convert_to_quantized(model, **N2UQ, w_bits=2, a_bits=2)
    assert report['skipped'] == ['0'] and report['converted'] == ['1']
    assert type(model[0]) is LSQConv2d and isinstance(model[1], QuantConv2d)


@pytest.mark.parametrize('kwargs,match', [
    (dict(**N2UQ, w_bits=1, a_bits=2),
     r'unsupported w_bits=1 for N2UQWeightQuantizer; valid: \[2, 3, 4, 5, 6, 7, 8, 32\]'),
    (dict(**LSQ, w_bits=4, a_bits=16), r'unsupported a_bits=16 for LSQQuantizer; valid: \[2, .*, 8, 32\]'),
    (dict(weight_quantizer=dict(type='N2UQWeightQuantizer', bits=3), w_bits=2), r'w_bits=2 contradicts bits=3'),
    (dict(weight_quantizer=dict(type='DoReFaQuantizer'), w_bits=2),
     r"unknown weight_quantizer type 'DoReFaQuantizer'; valid: \['ABSQuantizer', 'LSQQuantizer', "
     r"'N2UQActivationQuantizer', "
     r"'N2UQWeightQuantizer'"),
    (dict(w_bits=4), r'w_bits=4 needs a quantizer config'),
])
def test_bad_quantizer_settings_name_the_value_and_the_valid_choices(kwargs, match):
    with pytest.raises(ValueError, match=match):
        convert_to_quantized(_classifier(), **kwargs)


def test_unknown_keep_name_lists_close_and_valid_names():
    model = _classifier()
    with pytest.raises(ValueError) as err:
        convert_to_quantized(model, **N2UQ, w_bits=2, a_bits=2, keep_full_precision=['backbone.stem.O', 'head.fc'])
    message = str(err.value)
    assert "'backbone.stem.O'" in message
    assert "'backbone.stem.0'" in message.split('close names:')[1].split(';')[0]
    assert "'backbone.layer1.0.conv1'" in message and "'head.fc'" in message  # the convertible layers
    assert all(type(m) is not QuantConv2d for m in model.modules())  # nothing converted on error


def test_quantized_model_from_config_loads_a_full_precision_checkpoint_and_trains():
    fp = _classifier()
    fp_state = fp.state_dict()  # keys without the wrapper's 'model.' prefix
    wrapped = MODELS.build(dict(type='QuantizedModel', model=CLASSIFIER, **N2UQ, w_bits=2, a_bits=2,
                                keep_full_precision=KEEP))
    assert isinstance(wrapped, QuantizedModel) and len(wrapped.conversion['converted']) == RESIDUAL_CONVS
    assert wrapped.data_preprocessor is wrapped.model.data_preprocessor
    load_state_dict(wrapped, fp_state)  # mmengine's loader, as load_from uses
    state = wrapped.state_dict()
    for key, value in fp_state.items():
        assert torch.equal(state['model.' + key], value)
    quantizer_keys = [k for k in state if '_quantizer.' in k]
    assert len(quantizer_keys) == 4 * RESIDUAL_CONVS  # start, lengths, scale_in, scale_out
    assert torch.equal(state['model.backbone.layer1.0.conv1.act_quantizer.lengths'], torch.full((3,), 2 / 3))
    # torch's own loader too, and a wrapped checkpoint loads strictly
    again = MODELS.build(dict(type='QuantizedModel', model=CLASSIFIER, **N2UQ, w_bits=2, a_bits=2,
                              keep_full_precision=KEEP))
    again.load_state_dict(state, strict=True)
    # the three mmengine modes run through the wrapper
    inputs = torch.randn(4, 1, 16, 16)
    samples = [ClsDataSample().set_gt_label(i) for i in range(4)]
    losses = wrapped(inputs, samples, mode='loss')
    losses['loss'].backward()
    grads = wrapped.model.backbone.layer1[0].conv1.act_quantizer.lengths.grad
    assert grads is not None and grads.abs().sum() > 0
    assert wrapped(inputs, mode='tensor').shape == (4, 10)
    assert len(wrapped(inputs, samples, mode='predict')) == 4


def test_quantized_model_rejects_a_non_mmengine_model():
    with pytest.raises(TypeError, match='wraps an mmengine BaseModel'):
        QuantizedModel(nn.Linear(3, 3), **N2UQ, w_bits=2, a_bits=2)


def test_bits_aware_size_and_operation_split():
    wrapped = MODELS.build(dict(type='QuantizedModel', model=CLASSIFIER, **LSQ, w_bits=2, a_bits=3,
                                keep_full_precision=KEEP))
    converted = [m for m in wrapped.modules() if isinstance(m, QuantConv2d)]
    low_bit = sum(m.weight.numel() for m in converted)
    total = sum(p.numel() for p in wrapped.parameters())
    size = model_size(wrapped)
    assert size['params'] == total
    assert size['params_by_bits'] == {2: low_bit, 32: total - low_bit}  # step sizes, BN, stem, fc at 32
    assert size['bits'] == 2 * low_bit + 32 * (total - low_bit)
    assert size['size_mb'] == pytest.approx(size['bits'] / 8e6)
    assert size['compression'] == pytest.approx(32 * total / size['bits'])
    counts = count_operations(wrapped, (1, 16, 16))
    by_bits = counts.by_bits()
    assert set(by_bits) == {(2, 3), (32, 32)}
    stem_macs = 8 * 9 * 16 * 16
    assert counts.flops == stem_macs + 64 * 10  # only the kept stem conv and classifier are full precision
    assert counts.bops == by_bits[(2, 3)] * 6

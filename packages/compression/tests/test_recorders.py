"""Recorders capture exactly the named module's output / the method's return; bad names list the valid ones."""
import pytest
import torch

from compression_distill_helpers import classifier_cfg
from tessera_compression.models.recorders import MethodOutputsRecorder, ModuleOutputsRecorder, RecorderManager
from tessera_compression.registry import MODELS


@pytest.fixture
def model():
    m = MODELS.build(classifier_cfg(4))
    m.init_weights()
    return m.eval()


def test_module_outputs_recorder_equals_manual_forward(model):
    manager = RecorderManager(dict(layer2=dict(type='ModuleOutputsRecorder', source='backbone.layer2'),
                                   stem=dict(type='ModuleOutputsRecorder', source='backbone.stem')))
    manager.initialize(model)
    x = torch.randn(3, 1, 16, 16)
    with torch.no_grad():
        with manager.recording():
            model(x, mode='tensor')
        bb = model.backbone
        manual_stem = bb.stem(x)
        manual = bb.layer2(bb.layer1(manual_stem))
    assert torch.equal(manager.get_record_data('layer2'), manual)
    assert manager.get_record_data('layer2').shape == (3, 8, 8, 8)
    assert torch.equal(manager.get_record_data('stem'), manual_stem)


def test_records_every_call_in_order_and_only_while_recording(model):
    rec = ModuleOutputsRecorder('backbone.layer1')
    rec.initialize(model)
    x1, x2 = torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        model(x1, mode='tensor')  # not recording
        assert rec.data_buffer == []
        rec.recording = True
        model(x1, mode='tensor')
        model(x2, mode='tensor')
        rec.recording = False
        ref1 = model.backbone.layer1(model.backbone.stem(x1))
        ref2 = model.backbone.layer1(model.backbone.stem(x2))
    assert len(rec.data_buffer) == 2
    assert torch.equal(rec.get_record_data(0), ref1) and torch.equal(rec.get_record_data(1), ref2)
    with pytest.raises(IndexError, match='2 records'):
        rec.get_record_data(2)


def test_method_outputs_recorder_gives_logits_and_stage_tuples(model):
    manager = RecorderManager(dict(logits=dict(type='MethodOutputsRecorder', source='head.forward'),
                                   stages=dict(type='MethodOutputsRecorder', source='backbone.forward')))
    manager.initialize(model)
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad(), manager.recording():
        logits = model(x, mode='tensor')
        stages = model.backbone(x)
    assert torch.equal(manager.get_record_data('logits'), logits) and logits.shape == (2, 10)
    assert torch.equal(manager.get_record_data('stages', data_idx=0), stages[0])
    # the wrapper is on this instance only
    other = MODELS.build(classifier_cfg(4))
    assert 'forward' not in vars(other.head) and 'forward' in vars(model.head)


def test_a_deep_copy_records_with_its_own_weights(model):
    import copy
    rec = MethodOutputsRecorder('head.forward')
    rec.initialize(model)
    twin = copy.deepcopy(model)
    with torch.no_grad():
        twin.head.fc.weight.add_(1.0)
        x = torch.randn(2, 1, 8, 8)
        feats = twin.extract_feat(x)
        assert torch.equal(twin(x, mode='tensor'), twin.head.fc(feats[-1]))  # not the original's weights
        rec.recording = True
        model(x, mode='tensor')
    assert len(rec.data_buffer) == 1  # the copy records into its own copy of the recorder


def test_a_record_overwritten_in_place_is_refused(model):
    rec = ModuleOutputsRecorder('backbone.layer1.0.bn1')  # followed by ReLU(inplace=True)
    rec.initialize(model)
    rec.recording = True
    with torch.no_grad():
        model(torch.randn(2, 1, 8, 8), mode='tensor')
    with pytest.raises(RuntimeError, match='modified in place'):
        rec.get_record_data()


def test_unknown_module_lists_close_matches(model):
    with pytest.raises(KeyError) as err:
        ModuleOutputsRecorder('backbone.layer5').initialize(model)
    message = str(err.value)
    assert "'backbone.layer5'" in message and 'backbone.layer4' in message and 'close matches' in message
    with pytest.raises(KeyError, match='backbone.layer3'):
        RecorderManager(dict(f=dict(type='ModuleOutputsRecorder', source='backbone.layr3'))).initialize(model)


def test_unknown_method_lists_close_matches(model):
    with pytest.raises(KeyError, match="no method 'forwrd'.*forward"):
        MethodOutputsRecorder('head.forwrd').initialize(model)
    with pytest.raises(KeyError, match='close matches'):
        MethodOutputsRecorder('heads.forward').initialize(model)


def test_unknown_recorder_name_and_missing_record(model):
    manager = RecorderManager(dict(logits=dict(type='MethodOutputsRecorder', source='head.forward')))
    manager.initialize(model)
    with pytest.raises(KeyError, match=r"\['logits'\]"):
        manager.get_record_data('logit')
    with pytest.raises(RuntimeError, match='no record'):
        manager.get_record_data('logits')

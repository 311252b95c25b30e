"""DistillationModel: frozen teacher (no grad, no optimizer state, BN in eval), student loss kept,
KD connected by config, student-only evaluation and checkpoints, clear errors on bad input."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from compression_distill_helpers import batch, classifier_cfg, kd_losses, logits_recorders, save_teacher_checkpoint
from tessera_compression.models.distillers import TeacherCheckpointError
from tessera_compression.models.losses import kd_loss
from tessera_compression.registry import MODELS


def build(tmp_path, teacher_ckpt='auto', **kwargs):
    if teacher_ckpt == 'auto':
        teacher_ckpt = save_teacher_checkpoint(tmp_path / 'teacher.pth', width=8)
    losses, mappings = kd_losses(tau=4.0, weight=0.7)
    cfg = dict(type='DistillationModel', student=classifier_cfg(4), teacher=classifier_cfg(8),
               teacher_ckpt=teacher_ckpt, student_recorders=logits_recorders(), teacher_recorders=logits_recorders(),
               distill_losses=losses, loss_forward_mappings=mappings)
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_teacher_loaded_frozen_and_outside_the_parameters(tmp_path):
    model = build(tmp_path)
    ckpt = torch.load(tmp_path / 'teacher.pth', weights_only=True)['state_dict']
    assert all(torch.equal(v, ckpt[k]) for k, v in model.teacher.state_dict().items())
    teacher_ids = {id(p) for p in model.teacher.parameters()}
    assert teacher_ids and not teacher_ids & {id(p) for p in model.parameters()}
    assert not any(name.startswith('teacher') for name, _ in model.named_modules())
    assert all(not p.requires_grad for p in model.teacher.parameters())
    model.train()
    assert model.student.training and not model.teacher.training
    assert not any(m.training for m in model.teacher.modules())
    model.double()  # _apply reaches the teacher
    assert next(model.teacher.parameters()).dtype == torch.float64


def test_teacher_unchanged_and_without_optimizer_state_after_training(tmp_path):
    model = build(tmp_path)
    optim = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)))
    teacher_before, student_before = state(model.teacher), state(model.student)
    model.train()
    for i in range(3):
        log = model.train_step(batch(8, seed=i), optim)
    assert set(log) >= {'loss', 'student.loss', 'distill.loss_kd'}
    for key, value in model.teacher.state_dict().items():  # parameters and BN running statistics
        assert torch.equal(value, teacher_before[key]), key
    changed = [k for k, v in model.student.state_dict().items() if not torch.equal(v, student_before[k])]
    assert any(k.endswith('running_mean') for k in changed) and any(k.endswith('conv1.weight') for k in changed)
    teacher_ids = {id(p) for p in model.teacher.parameters()}
    optimizer = optim.optimizer
    assert optimizer.state and not teacher_ids & {id(p) for p in optimizer.state}
    assert not teacher_ids & {id(p) for g in optimizer.param_groups for p in g['params']}
    assert all(p.grad is None for p in model.teacher.parameters())


def test_loss_is_student_loss_plus_weighted_kd(tmp_path):
    model = build(tmp_path).train()
    data = model.data_preprocessor(batch(6), True)
    inputs, samples = data['inputs'], data['data_samples']
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        teacher_logits = model.teacher(inputs, mode='tensor')
        student_logits = model.student(inputs, mode='tensor')  # train-mode BN: same batch statistics
    target = torch.cat([s.gt_label for s in samples])
    assert losses['student.loss'].item() == pytest.approx(
        torch.nn.functional.cross_entropy(student_logits, target).item(), rel=1e-5)
    assert losses['distill.loss_kd'].item() == pytest.approx(
        0.7 * kd_loss(student_logits, teacher_logits, 4.0).item(), rel=1e-5)
    no_student = build(tmp_path, calculate_student_loss=False).loss(inputs, samples)
    assert set(no_student) == {'distill.loss_kd'}


def test_val_and_test_run_the_student_only(tmp_path):
    model = build(tmp_path).eval()
    calls = []
    model.teacher.register_forward_hook(lambda *a: calls.append(1))
    data = batch(4)
    out = model.val_step(data)
    out_test = model.test_step(data)
    assert calls == []
    reference = model.student.val_step(batch(4))
    assert torch.allclose(torch.stack([s.pred_score for s in out]), torch.stack([s.pred_score for s in reference]))
    assert len(out_test) == 4
    inputs = model.data_preprocessor(batch(4))['inputs']
    assert torch.equal(model(inputs, mode='tensor'), model.student(inputs, mode='tensor')) and calls == []


def test_checkpoint_holds_the_student_and_the_teacher_only_if_configured(tmp_path):
    from mmengine.runner.checkpoint import get_state_dict
    model = build(tmp_path)
    keys = list(get_state_dict(model))
    assert keys and all(k.startswith('student.') for k in keys)
    with_teacher = build(tmp_path, save_teacher=True)
    sd = get_state_dict(with_teacher)
    assert any(k.startswith('teacher.') for k in sd) and any(k.startswith('student.') for k in sd)
    # loading restores the teacher too, and the load is strict for the student
    fresh = build(tmp_path, teacher_ckpt=None, save_teacher=True)
    assert not torch.equal(fresh.teacher.head.fc.weight, with_teacher.teacher.head.fc.weight)
    fresh.load_state_dict(copy.deepcopy(sd), strict=True)
    assert torch.equal(fresh.teacher.head.fc.weight, with_teacher.teacher.head.fc.weight)
    assert not fresh.teacher.head.fc.weight.requires_grad


def test_teacher_from_its_config_file(tmp_path):
    ckpt = save_teacher_checkpoint(tmp_path / 'teacher.pth', width=8)
    cfg_file = tmp_path / 'teacher_cfg.py'
    cfg_file.write_text(f'model = {classifier_cfg(8)!r}\n')
    model = build(tmp_path, teacher_ckpt=ckpt, teacher=str(cfg_file))
    assert model.teacher.backbone.stem[0].out_channels == 8


def test_teacher_config_from_another_package():
    from tessera_compression.models.distillers import teacher_model_cfg
    cfg = teacher_model_cfg('tessera_core::demo/resnet18-w16_embedded-digits.py')
    assert cfg['type'] == 'ImageClassifier' and cfg['backbone']['base_channels'] == 16
    with pytest.raises(FileNotFoundError, match='no config'):
        teacher_model_cfg('tessera_core::demo/missing.py')


def test_mismatched_teacher_checkpoint_names_the_keys(tmp_path):
    good = torch.load(save_teacher_checkpoint(tmp_path / 't.pth', width=8), weights_only=True)['state_dict']
    bad = dict(good)
    bad.pop('head.fc.bias')
    bad['head.extra.weight'] = torch.zeros(3)
    torch.save(dict(state_dict=bad), tmp_path / 'bad.pth')
    with pytest.raises(TeacherCheckpointError) as err:
        build(tmp_path, teacher_ckpt=str(tmp_path / 'bad.pth'))
    message = str(err.value)
    assert 'missing keys (1): head.fc.bias' in message and 'unexpected keys (1): head.extra.weight' in message
    with pytest.raises(FileNotFoundError, match='train the teacher first'):
        build(tmp_path, teacher_ckpt=str(tmp_path / 'absent.pth'))
    wider = save_teacher_checkpoint(tmp_path / 'w16.pth', width=16)
    with pytest.raises(TeacherCheckpointError, match=r'shape mismatches.*backbone\.stem\.0\.weight'):
        build(tmp_path, teacher_ckpt=wider)


def test_bad_loss_mapping_lists_valid_names(tmp_path):
    ckpt = save_teacher_checkpoint(tmp_path / 'teacher.pth', width=8)
    losses, mappings = kd_losses()
    mappings['loss_kd']['preds_T']['recorder'] = 'logit'
    with pytest.raises(KeyError, match=r"teacher recorder 'logit'.*\['logits'\]"):
        build(tmp_path, teacher_ckpt=ckpt, loss_forward_mappings=mappings)
    _, mappings = kd_losses()
    mappings['loss_kd']['pred_S'] = mappings['loss_kd'].pop('preds_S')
    with pytest.raises(KeyError, match=r"no argument 'pred_S'.*preds_S"):
        build(tmp_path, teacher_ckpt=ckpt, loss_forward_mappings=mappings)
    with pytest.raises(KeyError, match='close matches'):
        build(tmp_path, teacher_ckpt=ckpt, teacher_recorders=dict(
            logits=dict(type='ModuleOutputsRecorder', source='head.fcc')))

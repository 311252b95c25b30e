"""A kill never costs more than the last checkpoint.

A training process is SIGKILLed (epoch loop after an epoch checkpoint; iteration loop mid-epoch after an
iteration checkpoint; a writer in the middle of ``torch.save``), resumed with ``Runner(resume=True)`` (what
``--resume`` does), and must end with the weights of the run that was never interrupted, bit for bit
(CPU, ``deterministic=True``), and the same validation metrics.

The toy run (4 -> 8 -> 1 MLP with BatchNorm and dropout, SGD with momentum and weight decay, warm-up + step
schedule, shuffled sampler, a training and a validation set that jitter their samples with Python's and
numpy's generators in the main process) has state in every place a resume must restore: weights, BN
statistics, momentum buffers, scheduler position, sampler epoch and position in the epoch, and the torch,
numpy and Python random streams (:class:`tessera_core.engine.hooks.ExactResumeHook`). The killed trainings are forked children of the
test process (no second interpreter start-up), killed by SIGKILL: no cleanup code runs in them.
"""
import multiprocessing
import os
import os.path as osp
import random
import signal
import time

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import tessera_core  # noqa: F401  (installs the safe loader and the atomic writer)
from tessera_core.engine import atomic_save
from tessera_core.engine.hooks import ExactResumeHook

EPOCHS, ITERS = 4, 9  # epoch loop: 5 iterations per epoch (40 samples, batch 8); iteration loop: 10 per epoch


class ToyData(Dataset):
    def __init__(self, n=40, seed=1):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x @ torch.randn(4, 1, generator=g) + 0.1 * torch.randn(n, 1, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        jitter = 0.05 * np.random.randn(4).astype(np.float32) + 0.05 * random.random()
        return dict(inputs=self.x[i] + torch.from_numpy(jitter), data_samples=self.y[i])


class ToyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.25), nn.Linear(8, 1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.net(inputs)
        if mode == 'loss':
            return dict(loss=F.mse_loss(out, data_samples))
        if mode == 'predict':
            return list(zip(out, data_samples))
        return out


class MSE(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend(float(((o - t) ** 2).sum()) for o, t in data_samples)

    def compute_metrics(self, results):
        return dict(mse=sum(results) / len(results))


class Record(Hook):
    """Validation metrics keyed by (epoch, iter), and the number of iterations this process trained."""

    def __init__(self):
        self.metrics, self.trained = {}, 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.trained += 1

    def after_val_epoch(self, runner, metrics=None):
        self.metrics[f'{runner.epoch}/{runner.iter}'] = dict(metrics)


class KillSelf(Hook):
    """SIGKILL this process at the end of epoch / iteration ``at`` (after the checkpoint hook)."""
    priority = 'LOWEST'

    def __init__(self, by_epoch, at):
        self.by_epoch, self.at = by_epoch, at

    def after_train_epoch(self, runner):
        if self.by_epoch and runner.epoch + 1 == self.at:
            os.kill(os.getpid(), signal.SIGKILL)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not self.by_epoch and runner.iter + 1 == self.at:
            os.kill(os.getpid(), signal.SIGKILL)


class Ballast(Hook):
    """Makes the checkpoint of epoch ``at`` large, so that a kill can land while it is being written."""

    def __init__(self, at):
        self.at = at

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint['meta']['epoch'] == self.at:
            checkpoint['ballast'] = torch.zeros(1 << 20)


def make_runner(work_dir, by_epoch, name, hooks=(), resume=False, max_keep_ckpts=-1):
    if by_epoch:
        train_cfg = dict(by_epoch=True, max_epochs=EPOCHS, val_interval=1)
        steps = dict(type='MultiStepLR', by_epoch=True, milestones=[2, 3], gamma=0.5)
    else:
        # no epoch end within ITERS: mmengine's infinite iterator sleeps 2 s at each one
        train_cfg = dict(by_epoch=False, max_iters=ITERS, val_interval=4)
        steps = dict(type='MultiStepLR', by_epoch=False, milestones=[5, 8], gamma=0.5)
    loader = dict(batch_size=8, num_workers=0, collate_fn=dict(type='default_collate'))
    torch.manual_seed(0)  # the model is built here, before the Runner seeds (a config-built one is built after)
    return Runner(
        model=ToyModel(), work_dir=str(work_dir), experiment_name=name,
        train_dataloader=dict(dataset=ToyData(40 if by_epoch else 80), sampler=dict(type='DefaultSampler', shuffle=True), **loader),
        val_dataloader=dict(dataset=ToyData(16, seed=2), sampler=dict(type='DefaultSampler', shuffle=False),
                            **loader),
        val_evaluator=[MSE()], train_cfg=train_cfg, val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.2, by_epoch=False, begin=0, end=4), steps],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=by_epoch, interval=1 if by_epoch else 3,
                                           max_keep_ckpts=max_keep_ckpts),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=list(hooks), randomness=dict(seed=0, deterministic=True), resume=resume,
        default_scope='mmengine', log_level='WARNING')


def train(work_dir, by_epoch, name, hooks=(), **kwargs):
    record = Record()
    runner = make_runner(work_dir, by_epoch, name, hooks=[record, *hooks], **kwargs)
    runner.train()
    return {k: v.detach().clone() for k, v in runner.model.state_dict().items()}, record


def run_killed(target, *args, timeout=120):
    """Run ``target(*args)`` in a forked child; its exit code (``-SIGKILL`` when it was killed)."""
    child = multiprocessing.get_context('fork').Process(target=target, args=args)
    child.start()
    child.join(timeout)
    if child.is_alive():
        child.kill()
        child.join()
    return child.exitcode


@pytest.fixture
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize('by_epoch, resumed_from, trained_after', [(True, 'epoch_2.pth', 10), (False, 'iter_6.pth', 3)])
def test_resume_after_sigkill_is_exact(tmp_path, one_thread, by_epoch, resumed_from, trained_after):
    ref_weights, ref = train(tmp_path / 'ref', by_epoch, f'ref-{by_epoch}-{time.time()}')

    work = tmp_path / 'killed'
    assert run_killed(_train_until_killed, work, by_epoch) == -signal.SIGKILL
    with open(work / 'last_checkpoint') as f:
        assert osp.basename(f.read().strip()) == resumed_from

    weights, resumed = train(work, by_epoch, f'resumed-{by_epoch}-{time.time()}', resume=True)
    assert resumed.trained == trained_after  # started at the checkpoint, not from scratch
    _assert_same_weights(weights, ref_weights)
    assert resumed.metrics and resumed.metrics == {k: ref.metrics[k] for k in resumed.metrics}


class StreamsNotRestored(ExactResumeHook):
    """Takes the place of the automatic hook and does nothing: mmengine's own resume."""

    def before_val(self, runner):
        pass

    def after_val(self, runner):
        pass

    def before_save_checkpoint(self, runner, checkpoint):
        pass

    def after_load_checkpoint(self, runner, checkpoint):
        pass


def test_without_the_random_state_the_resume_would_not_be_exact(tmp_path, one_thread):
    """The toy run really draws random numbers after the data order: mmengine's resume alone diverges."""
    ref_weights, _ = train(tmp_path / 'ref', True, f'ref-plain-{time.time()}', hooks=[StreamsNotRestored()])
    work = tmp_path / 'killed'
    assert run_killed(_train_until_killed, work, True, [StreamsNotRestored()]) == -signal.SIGKILL
    weights, _ = train(work, True, f'resumed-plain-{time.time()}', resume=True, hooks=[StreamsNotRestored()])
    assert any(not torch.equal(weights[k], ref_weights[k]) for k in weights)


def test_resume_restores_the_state_saved_in_the_checkpoint(tmp_path, one_thread):
    """The checkpoint of epoch 2 carries the training streams' state; the resumed run's first batch is drawn
    from exactly that state (validation in between does not move it)."""
    work = tmp_path / 'killed'
    assert run_killed(_train_until_killed, work, True) == -signal.SIGKILL
    from tessera_core.engine import safe_load
    saved = safe_load(str(work / 'epoch_2.pth'))['rng_state']
    assert set(saved) >= {'python', 'numpy', 'torch'}

    class FirstDraw(Hook):
        priority = 'LOWEST'

        def before_train_epoch(self, runner):
            if not hasattr(self, 'state'):
                self.state = torch.get_rng_state().clone(), np.random.get_state()[1].copy()

    first = FirstDraw()
    train(work, True, f'resumed-state-{time.time()}', resume=True, hooks=[first])
    assert torch.equal(first.state[0], saved['torch'])
    assert np.array_equal(first.state[1], saved['numpy']['keys'].numpy().astype(np.uint32))


def test_kill_during_checkpoint_write_resumes_from_previous(tmp_path, one_thread):
    """max_keep_ckpts=1: mmengine deletes epoch_1.pth before writing epoch_2.pth; the writer is killed
    half-way through epoch_2.pth. The resume point must still be epoch_1.pth, complete."""
    work = tmp_path / 'torn'
    assert run_killed(_train_killed_while_saving, work) == -signal.SIGKILL
    files = sorted(os.listdir(work))
    partial = [f for f in files if f.startswith('.epoch_2.pth.') and f.endswith('.tmp')]
    assert partial and os.path.getsize(work / partial[0]) > 0, files  # killed mid-write, bytes on disk
    assert 'epoch_2.pth' not in files and 'epoch_1.pth' in files, files
    with open(work / 'last_checkpoint') as f:
        assert osp.basename(f.read().strip()) == 'epoch_1.pth'

    ref_weights, _ = train(tmp_path / 'ref', True, f'ref-torn-{time.time()}', max_keep_ckpts=1)
    weights, resumed = train(work, True, f'resumed-torn-{time.time()}', resume=True, max_keep_ckpts=1)
    assert resumed.trained == 15  # epochs 2-4
    _assert_same_weights(weights, ref_weights)
    assert sorted(f for f in os.listdir(work) if f.endswith('.pth')) == ['epoch_4.pth']


def test_atomic_file_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / 'last_checkpoint'
    target.write_text('epoch_1.pth')
    with pytest.raises(KeyboardInterrupt):
        with atomic_save.open_for_checkpoint_hook(str(target), 'w') as f:
            f.write('epoch_2')
            raise KeyboardInterrupt  # killed before the write completed
    assert target.read_text() == 'epoch_1.pth' and os.listdir(tmp_path) == ['last_checkpoint']
    with atomic_save.open_for_checkpoint_hook(str(target), 'w') as f:
        f.write('epoch_2.pth')
    assert target.read_text() == 'epoch_2.pth' and os.listdir(tmp_path) == ['last_checkpoint']
    import mmengine.hooks.checkpoint_hook as hook_module
    assert hook_module.open is atomic_save.open_for_checkpoint_hook  # what CheckpointHook writes with


def _train_until_killed(work_dir, by_epoch, hooks=()):
    make_runner(work_dir, by_epoch, 'killed', hooks=[KillSelf(by_epoch, 2 if by_epoch else 8), *hooks]).train()


def _train_killed_while_saving(work_dir):
    """``torch.save`` of the ballast checkpoint (epoch 2) is killed once 64 KiB of it are on disk."""
    real_save = torch.save

    class KilledHalfWay:
        def __init__(self, f):
            self.f, self.written = f, 0

        def write(self, data):
            n = self.f.write(data)
            self.written += len(data)
            if self.written > 1 << 16:
                self.f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            return n

        def flush(self):
            self.f.flush()

    def save(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and 'ballast' in obj:
            f = KilledHalfWay(f)
        return real_save(obj, f, *args, **kwargs)

    torch.save = save
    make_runner(work_dir, True, 'killed', hooks=[Ballast(at=2)], max_keep_ckpts=1).train()

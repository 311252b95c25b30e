"""DAFL's Fashion-MNIST configs: each is its embedded-digits counterpart with only the data, the
normalisation, the teacher and the teacher's schedule changed; DAFL and its noise baseline share one
budget; and a data-free run built from the real config (digits and Fashion-MNIST) never indexes a real
image while training."""
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from tessera_compression.registry import DATASETS, MODELS
from tessera_core.config import package_config_path

FMNIST_ROOT = '/usr/share/datasets/fashion-mnist'
FMNIST_NORM = dict(mean=[0.2860 * 255], std=[0.3530 * 255])
FMNIST_TEACHER = 'tessera_compression::dafl/lenet5_fashion-mnist.py'
PAIRS = ['lenet5', 'kd_lenet5-to-lenet5-half', 'dafl_lenet5-to-lenet5-half', 'noise-kd_lenet5-to-lenet5-half']


def load(name: str) -> Config:
    return Config.fromfile(package_config_path('tessera_compression', f'dafl/{name}.py'))


def flatten(obj, prefix=''):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(flatten(v, f'{prefix}.{k}' if prefix else str(k)))
        return out
    return {prefix: obj}


def changed(name: str):
    fashion, digits = (flatten(load(f'{name}_{d}').to_dict()) for d in ('fashion-mnist', 'embedded-digits'))
    keys = {k for k in set(fashion) | set(digits) if fashion.get(k, '<absent>') != digits.get(k, '<absent>')}
    return fashion, keys


@pytest.mark.parametrize('name', PAIRS)
def test_fashion_config_is_the_digits_config_with_fashion_mnist_data_and_teacher(name):
    fashion, keys = changed(name)
    keys = {k for k in keys if not k.startswith('fmnist_')}  # the shared base's own variables
    # the loss weights, the student, the generator, the optimizers and the DAFL budget are not among them
    allowed = {'teacher_cfg', 'teacher_ckpt', 'model.teacher', 'model.teacher_ckpt', 'max_epochs',
               'train_cfg.max_epochs', 'train_cfg.val_interval'}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        allowed |= {f'{loader}.dataset.{k}' for k in ('type', 'source', 'data_root', '_scope_')}
    for model in ('model', 'model.student', 'student'):
        allowed |= {f'{model}.data_preprocessor.mean', f'{model}.data_preprocessor.std'}
    assert keys <= allowed, sorted(keys - allowed)
    cfg = load(f'{name}_fashion-mnist')
    for loader in ('val_dataloader', 'test_dataloader') + (('train_dataloader',) if 'dafl' not in name
                                                           and 'noise' not in name else ()):
        dataset = cfg[loader].dataset
        assert (dataset.type, dataset.data_root) == ('FashionMNIST', FMNIST_ROOT)
        assert dataset.split == ('train' if loader == 'train_dataloader' else 'test')
        assert dataset.pipeline == [dict(type='Resize', scale=(32, 32)), dict(type='PackClsInputs')]
        assert 'indices' not in dataset  # all 60,000 / 10,000 images
    preprocessor = cfg.model.data_preprocessor if name == 'lenet5' else cfg.model.student.data_preprocessor
    assert preprocessor.mean == pytest.approx(FMNIST_NORM['mean']) and preprocessor.std == pytest.approx(
        FMNIST_NORM['std'])
    if name != 'lenet5':
        assert cfg.model.teacher == FMNIST_TEACHER == cfg.teacher_cfg
        assert cfg.model.teacher_ckpt == cfg.teacher_ckpt == 'work_dirs/teacher_lenet5_fashion-mnist/epoch_2.pth'
        teacher = Config.fromfile(package_config_path('tessera_compression', 'dafl/lenet5_fashion-mnist.py'))
        assert cfg.model.teacher_ckpt.endswith(f'epoch_{teacher.train_cfg.max_epochs}.pth')
        assert cfg.model.student.backbone == dict(type='LeNet5', arch='half')


def test_dafl_and_noise_baseline_share_the_budget_and_the_student_recipe():
    dafl, noise = load('dafl_lenet5-to-lenet5-half_fashion-mnist'), load('noise-kd_lenet5-to-lenet5-half_fashion-mnist')
    for cfg in (dafl, noise):
        assert cfg.train_dataloader.dataset == dict(type='NoiseSeedDataset', length=128 * 100)
        assert (cfg.train_dataloader.batch_size, cfg.train_cfg.max_epochs) == (128, 30)
        assert cfg.optim_wrapper.student == dict(optimizer=dict(type='Adam', lr=2e-3))
        assert cfg.model.distill_losses == dict(loss_kd=dict(type='KLDivergence', tau=1.0, loss_weight=1.0))
    assert dafl.model.student == noise.model.student
    assert dafl.optim_wrapper.generator == dict(optimizer=dict(type='Adam', lr=0.2))
    weights = {k: v.loss_weight for k, v in dafl.model.generator_losses.items()}
    assert weights == dict(loss_oh=1.0, loss_a=0.1, loss_ie=5.0)
    assert noise.model.generator == dict(type='NoiseImages', img_size=32, out_channels=1, mean=0.0, std=1.0)
    kd, teacher = load('kd_lenet5-to-lenet5-half_fashion-mnist'), load('lenet5_fashion-mnist')
    assert kd.train_dataloader == teacher.train_dataloader and kd.optim_wrapper == teacher.optim_wrapper
    assert kd.train_cfg == teacher.train_cfg == dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=2)


# ------------------------------------------------------------------ a data-free run never reads real images
class Accesses(Hook):
    """Records, after every training iteration, how many real images had been indexed so far."""
    count = 0

    def __init__(self):
        self.during_training = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.during_training.append(Accesses.count)


def count_real_images(monkeypatch):
    """Every ``__getitem__`` of the real-image datasets (digits and Fashion-MNIST) adds one to the count."""
    Accesses.count = 0
    for name in ('EmbeddedDigits', 'FashionMNIST'):
        cls = DATASETS.get(name)
        original = cls.__getitem__

        def counted(self, idx, _original=original):
            Accesses.count += 1
            return _original(self, idx)
        monkeypatch.setattr(cls, '__getitem__', counted)


@pytest.mark.parametrize('name', ['dafl_lenet5-to-lenet5-half_embedded-digits',
                                  'dafl_lenet5-to-lenet5-half_fashion-mnist',
                                  'noise-kd_lenet5-to-lenet5-half_embedded-digits',
                                  'noise-kd_lenet5-to-lenet5-half_fashion-mnist'])
def test_data_free_config_never_indexes_the_real_dataset_while_training(name, tmp_path, monkeypatch):
    cfg = load(name)
    teacher_cfg = Config.fromfile(package_config_path('tessera_compression', cfg.model.teacher.split('::')[1]))
    torch.manual_seed(0)
    teacher = MODELS.build(teacher_cfg.model)
    teacher.init_weights()
    torch.save(dict(meta=dict(), state_dict=teacher.state_dict()), str(tmp_path / 'teacher.pth'))
    cfg.merge_from_dict({'model.teacher_ckpt': str(tmp_path / 'teacher.pth'), 'train_dataloader.batch_size': 8,
                         'train_dataloader.dataset.length': 32, 'train_cfg.max_epochs': 1,
                         'val_dataloader.dataset.indices': 40, 'val_dataloader.batch_size': 20})
    cfg.work_dir = str(tmp_path / 'work')
    hook = Accesses()
    cfg.custom_hooks = []
    count_real_images(monkeypatch)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(hook)
    runner.train()
    assert type(runner.train_dataloader.dataset).__name__ == 'NoiseSeedDataset'
    assert hook.during_training == [0, 0, 0, 0]  # 4 iterations of 8 seeds, no real image read
    assert Accesses.count == 40  # validation (the student only) read the 40 real test images once
    assert set(runner.optim_wrapper.keys()) == ({'student', 'generator'} if 'dafl' in name else {'student'})

# Linear probe of the SEED / BINGO / MoCo-alone students (and, with the overrides below, of the teacher)
# on Fashion-MNIST: MoCo's protocol of ../mocov2/linear-probe_resnet18-w16_embedded-digits.py (frozen
# backbone, BN in eval mode, a linear classifier on the pooled features; SGD momentum 0.9, no weight
# decay, lr x0.1 at 60 % / 80 %, 10 epochs, batch 64 -> 256 here, 2 px shifts) trained on the
# first 10,000 Fashion-MNIST training images (with labels) and tested on the full 10,000-image test set.
# lr 0.3 instead of MoCo's 30: at 30 the probe's loss diverged on these features (1124 -> 36 over the
# run, see README); 0.3 was the best of {30, 3, 1, 0.3, 0.1} on a 2,000/1,000 split of the teacher's
# training-image features (no test image used).
# Distilled students (SEED, BINGO): keys student.backbone.* (the default prefix below).
# MoCo-alone student: --cfg-options model.backbone.init_cfg.prefix=backbone.
# Teacher: model.backbone.base_channels=16 model.head.in_channels=128 model.backbone.init_cfg.prefix=backbone.
_base_ = ['../mocov2/linear-probe_resnet18-w16_embedded-digits.py']
fmnist = dict(type='FashionMNIST', data_root='/usr/share/datasets/fashion-mnist')
pretrained = 'work_dirs/seed_resnet18-w16-to-w8_fashion-mnist/epoch_10.pth'
model = dict(backbone=dict(base_channels=8, init_cfg=dict(checkpoint=pretrained, prefix='student.backbone.')),
             head=dict(in_channels=64))
optim_wrapper = dict(optimizer=dict(lr=0.3))
train_dataloader = dict(
    batch_size=256, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **fmnist, split='train', indices=10000,
                 pipeline=[dict(type='RandomShiftCrop', padding=2), dict(type='PackClsInputs')]))
val_dataloader = dict(
    batch_size=500, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **fmnist, split='test', pipeline=[dict(type='PackClsInputs')]))
test_dataloader = val_dataloader

# The BatchNorm twin of resnet18-w16-mbn_fashion-mnist-bs4.py (MBN, arXiv:2010.04947): the same
# quarter-width ResNet-18 (16 base channels, BasicBlocks 2-2-2-2, one 3x3/1 stem conv for 28 px
# grey images; stage outputs 28, 14, 7, 4 px) trained on Fashion-MNIST with mini-batches of 4
# images, the small-batch regime in which one batch's statistics are noisy. Standard BatchNorm:
# batch statistics in training, moving averages (momentum 0.1) in inference.
# Recipe: one epoch (60,000 images = 15,000 SGD steps of 4), SGD nesterov (momentum 0.9, weight
# decay 5e-5, as the issue-3 backbone recipe) with the learning rate scaled linearly from 0.1 at
# batch 128 to 0.1 * 4 / 128 = 0.003125, 500 warm-up iterations then cosine to 0; evaluated at the
# end on the 10,000 test images.
_base_ = [
    '../_base_/models/fashion_mnist_classifier.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime.py',
]
batch_size = 4
max_epochs = 1
iters = 60000 // batch_size * max_epochs
warmup_iters = 500
model = dict(
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', stem_stride=1, base_channels=16,
                  norm_cfg=dict(type='BN')),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128),
)
train_dataloader = dict(batch_size=batch_size, num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1 * batch_size / 128, momentum=0.9, weight_decay=5e-5,
                                    nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=iters - warmup_iters, by_epoch=False, begin=warmup_iters, end=iters),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=500), checkpoint=dict(interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=batch_size)

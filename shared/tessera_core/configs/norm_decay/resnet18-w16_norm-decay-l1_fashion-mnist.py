# Norm decay (Liang & Huang, AAAI 2021, arXiv:2009.08435) on Fashion-MNIST (60k train / 10k test):
# a quarter-width ResNet-18 (16 base channels, 3x3/1 stem, last map 4 x 4) trained with the exact
# l1 operator norms of every conv and linear layer decayed before each optimizer step
# (NormDecayHook: grad += coeff * G, G the momentum-0.5 buffer of the norms' subgradients).
# Official recipe: SGD lr 0.01, momentum 0.9, weight decay 0, plain cross-entropy, batch 128, and
# beta swept over {1e-5, ..., 1e-1} (1e-3 here, the official README's example). The official runs
# last 120 CIFAR-10 epochs with lr x0.1 at 75, 90, 100; this CPU-sized run keeps the first
# (constant-lr) phase for 5 epochs. Compare with resnet18-w16_plain_fashion-mnist.py (same run,
# coeff 0: the hook only records the norms).
_base_ = [
    '../_base_/models/fashion_mnist_classifier.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=16),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0)),
)
max_epochs = 5
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0))
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [dict(type='NormDecayHook', norm='l1', coeff=1e-3, momentum=0.5, conv=True, linear=True)]

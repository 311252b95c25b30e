# DARTS search (first order) on Fashion-MNIST, a reduced supernet for one CPU core: 8 initial
# channels, 5 cells (reductions at cells 1 and 3), the 8 DARTS primitives on each of the 14 edges of
# the normal and the reduction cell, 16 px inputs, 5,000 + 5,000 images (see the dataset base).
# Recipe of the official cnn/train_search.py (quark0/darts): weights by SGD lr 0.025, momentum 0.9,
# weight decay 3e-4, cosine to 0.001, gradient norm clipped to 5, batch 64; architecture by Adam
# lr 3e-4, betas (0.5, 0.999), weight decay 1e-3, one step per weight step, from the first epoch.
# Official length: 50 epochs of 25k + 25k CIFAR-10 images; here `max_epochs` (see README for time).
_base_ = [
    '../_base_/datasets/fashion_mnist_search_16px.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='DARTSSearchClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[72.94], std=[90.02]),
    backbone=dict(type='DARTSSearchBackbone', in_channels=1, init_channels=8, layers=5),
    neck=dict(type='GlobalAveragePooling'),
    # official classifier: nn.Linear with PyTorch's default initialisation
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128, init_cfg=None, topk=(1, 5)),
    arch_gradient='first_order',
    warmup_epochs=0,
)
max_epochs = 3
optim_wrapper = dict(
    constructor='DARTSOptimWrapperConstructor',
    weights=dict(optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
                 clip_grad=dict(max_norm=5, norm_type=2)),
    architecture=dict(optimizer=dict(type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)))
# only the weights are annealed (official CosineAnnealingLR(optimizer, epochs, eta_min=0.001))
param_scheduler = dict(
    weights=[dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.001, by_epoch=True, begin=0,
                  end=max_epochs, convert_to_iter_based=True)],
    architecture=[])
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [dict(type='GenotypeHook')]

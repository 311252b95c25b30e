# The DARTS (second order) genotype evaluated as a small network: 16 initial channels, 8 cells
# (reductions at cells 2 and 5, auxiliary head on cell 5), trained from scratch on the 4,000
# embedded real MNIST digits (padded to 32 px) and tested on the 1,000 held-out ones.
# Recipe of the official CIFAR evaluation (quark0/darts cnn/train.py) shortened to a CPU budget:
# SGD lr 0.025, momentum 0.9, weight decay 3e-4, cosine to 0, batch 96, gradient clipping 5,
# auxiliary weight 0.4, drop path 0.2 reached linearly over training (no cutout).
_base_ = [
    'tessera_core::_base_/datasets/embedded_digits_32px.py',
    '../_base_/default_runtime.py',
]
train_dataloader = dict(batch_size=96)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    backbone=dict(type='DARTSNetwork', genotype='DARTS_V2', init_channels=16, layers=8, auxiliary=True,
                  num_classes=10, drop_path_prob=0.2, in_channels=1),
    head=dict(type='AuxiliaryClsHead', aux_weight=0.4,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1,)),
)
max_epochs = 3
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
custom_hooks = [dict(type='DropPathProbHook', by_epoch=True)]

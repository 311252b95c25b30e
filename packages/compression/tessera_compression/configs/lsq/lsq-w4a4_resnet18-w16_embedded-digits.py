# LSQ W4A4 on tessera-core's demo network: a quarter-width ResNet-18 (16 base channels, 3x3 stem)
# trained from scratch with the core demo recipe (8 epochs, SGD 0.1 nesterov, warm-up + cosine,
# label smoothing 0.1) on the 4,000 embedded real MNIST digits, tested on the 1,000 held-out ones.
# Every convolution of the residual stages (downsample 1x1 convs included) is an LSQConv2d with
# 4-bit signed weights and 4-bit unsigned inputs; the stem conv and the final linear layer stay
# full precision. Full-precision baseline with the same recipe:
#   --cfg-options model.backbone.conv_cfg=None
_base_ = [
    'tessera_core::_base_/datasets/embedded_digits.py',
    '../_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    backbone=dict(type='tessera_core.ResNet', depth=18, in_channels=1, stem='small', base_channels=16,
                  conv_cfg=dict(type='LSQConv2d', w_bits=4, a_bits=4), stem_conv_cfg=dict(type='Conv2d')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1), topk=(1,)),
)
max_epochs = 8
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Linear probe of a self-supervised backbone (the MoCo protocol, arXiv:1911.05722 section 4.1):
# the pretrained quarter-width ResNet-18 is loaded from the MoCo v2 checkpoint (its query encoder,
# keys `backbone.*`), frozen (all stages: frozen_stages=4 sets requires_grad=False; norm_eval keeps
# BatchNorm in eval mode) and a linear classifier on its pooled 128-d features is trained on the
# 4,000 embedded digits, tested on the 1,000 held-out ones. Fixed recipe (MoCo's linear
# classification: SGD lr 30, momentum 0.9, no weight decay, lr x0.1 at 60 % and 80 % of training),
# shortened to 10 epochs; batch 64; the base's 2 px shift augmentation.
# Another pretrained checkpoint: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    'tessera_core::_base_/datasets/embedded_digits.py',
    '../_base_/default_runtime.py',
]
pretrained = 'work_dirs/mocov2_resnet18-w16_embedded-digits/epoch_20.pth'
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=16,
                  frozen_stages=4, norm_eval=True,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1,)),
)
max_epochs = 10
optim_wrapper = dict(optimizer=dict(type='SGD', lr=30.0, momentum=0.9, weight_decay=0.0))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[6, 8], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Full-precision pretraining of the network every N2UQ / LSQ config of issue 6 quantizes: the
# quarter-width ResNet-18 of tessera-core's Fashion-MNIST configs (16 base channels, BasicBlocks
# 2-2-2-2, one 3x3/1 stem conv for 28 px grey images; stage outputs 28, 14, 7, 4 px), trained from
# scratch for one epoch of the 60,000 training images (SGD nesterov, lr 0.1 for batch 128, a tenth
# of an epoch of linear warm-up then cosine to 0, weight decay 5e-5, label smoothing 0.1) and
# tested on the 10,000 test images. Its last checkpoint (epoch_1.pth in the default work dir
# work_dirs/resnet18-w16_fp-pretrain_fashion-mnist) is where the QAT configs start (load_from), as
# the official N2UQ code starts from real-valued pretrained weights.
_base_ = ['tessera_core::_base_/datasets/fashion_mnist.py', '../_base_/default_runtime.py']
# images read in the main process: one core per run
train_dataloader = dict(num_workers=0, persistent_workers=False)
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[72.94], std=[90.02]),
    backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', stem_stride=1, base_channels=16),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=128,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1), topk=(1,)),
)


max_epochs = 1
warmup_iters = 47  # a tenth of the 469 iterations of one epoch
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-5, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50))

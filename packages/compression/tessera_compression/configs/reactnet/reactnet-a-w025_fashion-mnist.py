# ReActNet-A at a quarter of its width (8 -> 256 channels, all 13 blocks of the paper's table),
# binary weights and activations (W1/A1), on Fashion-MNIST (60k train / 10k test, 28 x 28 grey),
# trained in ONE step from scratch: the one-step baseline of the AdamBNN two-step recipe
# (../adambnn/), with the same optimizer (Adam, lr 1.25e-3 for batch 256, linear decay to 0,
# no weight decay as in step 2) and as many epochs as its two steps together (2 + 2).
# First conv and classifier full precision, as in the paper. Stem stride 2 as the paper: the maps
# are 14/7/4/2/1 px; per 28 x 28 image 5,905,920 binary MACs (= BOPs) + 16,672 FLOPs (first conv and
# classifier), 1,784,602 parameters.
# The official code trains with a distributional (KD) loss from a real-valued ResNet-34 teacher;
# no teacher exists here, so the loss is label-smoothed cross-entropy (0.1, the official
# CrossEntropyLabelSmooth default).
_base_ = ['tessera_core::_base_/datasets/fashion_mnist.py', '../_base_/default_runtime.py']
# images read in the main process: one core per run
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[72.94], std=[90.02]),
    backbone=dict(type='ReActNet', arch='A', in_channels=1, stem_stride=2, widen_factor=0.25,
                  weight_bits=1, act_bits=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=256,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1), topk=(1,)),
)

train_dataloader = dict(batch_size=256, num_workers=0, persistent_workers=False)

# Official optimizer (AdamBNN/ReActNet train.py): Adam(betas=(0.9, 0.999)), lr 1.25e-3 for batch 256,
# lr * (1 - t / T) decay; weight decay only on the 4-D parameters (convolution weights and the
# learnable shifts of RSign / RPReLU), none on BatchNorm, PReLU slopes and the classifier.
# Here step 2's weight decay (0); the AdamBNN step-1 configs set 5e-6.
max_epochs = 4
optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=1.25e-3, betas=(0.9, 0.999), weight_decay=0.0),
    paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys={'.slope': dict(decay_mult=0.0),
                                                         'head.': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

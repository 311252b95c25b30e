# Retrain a genotype from scratch on Fashion-MNIST: the searched cell of a search run
# (`model.backbone.genotype=work_dirs/<search>/genotype.json`), a random cell of the same size
# (`model.backbone.genotype=random:<seed>`, tessera_nas.genotypes.random_genotype) or a published
# one (default 'DARTS_V2'), in the DARTS evaluation network at 16 initial channels and 8 cells
# (reductions at cells 2 and 5, auxiliary head on cell 5). Every genotype gets the same recipe, for
# the "search vs random" comparison: the official cnn/train.py (SGD lr 0.025, momentum 0.9, weight
# decay 3e-4, cosine to 0, batch 96, gradient clipping 5, auxiliary weight 0.4, drop path 0.2
# reached linearly) shortened to 3 epochs on the first 10,000 training images, zero-padded from 28 to
# 32 px (the auxiliary head expects the 8 x 8 maps of 32 px inputs); test on the 10,000 test images.
_base_ = ['../_base_/default_runtime.py']
data_root = '/usr/share/datasets/fashion-mnist'
train_pipeline = [
    dict(type='Pad', size=(32, 32), pad_val=0),
    dict(type='RandomShiftCrop', padding=2),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='Pad', size=(32, 32), pad_val=0), dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=96, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='FashionMNIST', data_root=data_root, split='train', indices=10000, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=250, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='FashionMNIST', data_root=data_root, split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[72.94], std=[90.02]),
    backbone=dict(type='DARTSNetwork', genotype='DARTS_V2', init_channels=16, layers=8, auxiliary=True,
                  num_classes=10, drop_path_prob=0.2, in_channels=1),
    head=dict(type='AuxiliaryClsHead', aux_weight=0.4, loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0),
              topk=(1, 5)),
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

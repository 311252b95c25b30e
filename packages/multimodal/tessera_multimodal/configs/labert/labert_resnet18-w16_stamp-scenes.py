# LaBERT on StampScenes (real Tux Paint stamps, Debian `tuxpaint-stamps-default`; without it the
# dataset raises an error naming the folder and the apt command). Every scene has a short, medium and
# long caption; each training step uses one of them, its length level given by its token length
# ('stamps' bins L1=2-11, L2=12-24, L3=25-60 tokens, derived in models/labert/length_levels.py;
# captions of more than 60 tokens are dropped, as the official code drops captions beyond its last bin).
# The vocabulary is the WordPiece one built from the training captions (test stamps are unseen).
_base_ = ['../_base_/default_runtime.py', '../_base_/datasets/stamp_scenes.py']

model = dict(
    type='LaBERT',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3),
    # quarter-width ResNet-18, 3x3/2 stem: 96x96 -> 6x6 grid of 128-d features
    image_backbone=dict(type='ResNet', depth=18, in_channels=3, stem='small', stem_stride=2, base_channels=16,
                        out_indices=(3,)),
    # WordPiece vocabulary learned (deterministically) on the training captions
    tokenizer=dict(type='WordPieceTokenizer', vocab_size=1000,
                   train_dataset={{_base_.train_dataloader.dataset}}),
    bert=dict(hidden_size=128, num_layers=3, num_heads=4, dropout=0.1),
    length_bins='stamps',
    steps=[10, 15, 20],
    grid_size=36,
    skip_out_of_bins=True,
)
train_dataloader = dict(batch_size=32)
max_epochs = 12
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.01),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# `mim test`: every level decoded and scored against all three references of a scene (CaptionMetric,
# gen-L<k>/...); no validation during training.
val_cfg = None
val_dataloader = None
val_evaluator = None
test_evaluator = dict(type='CaptionMetric')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=max_epochs))

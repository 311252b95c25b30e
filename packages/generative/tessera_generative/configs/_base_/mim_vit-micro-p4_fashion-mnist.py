# Shared by the MAE and SdAE pre-training configs, so their budgets match: Fashion-MNIST
# (tessera-core's base: Debian's dataset-fashion-mnist, 28 px, 2 px random shift) with the labels
# unused; the first 10,000 training images; batch 128; 6 epochs (468 iterations); AdamW
# (lr 1e-3, betas (0.9, 0.95) as MAE/SdAE, weight decay 0.05, none on norms, biases and tokens), one
# warm-up epoch, cosine to 0 (tessera-core's adamw_cosine schedule). ViT 'micro' (D 96, 6 blocks,
# 3 heads), 4 px patches -> 7 x 7 = 49 patches; 75 % masked (12 visible, 37 masked).
# No validation during pre-training: evaluate with ../mae/vit-micro-p4_linear-probe_fashion-mnist.py.
_base_ = [
    'tessera_core::_base_/datasets/fashion_mnist.py',
    'tessera_core::_base_/schedules/adamw_cosine.py',
    './default_runtime.py',
]
# the encoder and decoder both methods share; each method's config adds type, head and its settings
model = dict(
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[72.94], std=[90.02]),
    backbone=dict(type='MAEViT', arch='micro', img_size=28, patch_size=4, in_channels=1, mask_ratio=0.75,
                  drop_path_rate=0.0),
    neck=dict(type='MAEPretrainDecoder', img_size=28, patch_size=4, in_chans=1, embed_dim=96,
              decoder_embed_dim=64, decoder_depth=2, decoder_num_heads=4, mlp_ratio=4.0),
)

train_dataloader = dict(batch_size=128, num_workers=0, persistent_workers=False, drop_last=True,
                        dataset=dict(indices=10000))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None

max_epochs = 6
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                       custom_keys={'cls_token': dict(decay_mult=0.0), 'mask_token': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=20))
auto_scale_lr = dict(base_batch_size=128)

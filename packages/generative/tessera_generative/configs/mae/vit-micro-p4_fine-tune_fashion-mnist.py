# End-to-end fine-tuning of any pretrained 'micro' ViT (MAE's protocol, arXiv:2111.06377 Appendix A.1,
# official main_finetune.py, shortened): the encoder is loaded from a pre-training checkpoint (keys
# backbone.*; MAE and SdAE students alike) and trained with a linear head on the mean of the
# final-normed patch tokens (the official default global_pool averages the un-normed tokens and then
# applies a new LayerNorm; README), stochastic depth 0.1, label smoothing 0.1, AdamW (lr 5e-4 =
# base lr 1e-3 x 128 / 256, betas (0.9, 0.999), weight decay 0.05, none on norms, biases and the
# class token), one warm-up epoch then cosine; 5 epochs on the same 10,000 Fashion-MNIST training
# images as the pre-training, tested on the 10,000 test images. Not used: the official layer-wise lr
# decay 0.75, Mixup / CutMix, RandAugment, random erasing.
#   another checkpoint:  --cfg-options model.backbone.init_cfg.checkpoint=PATH
#   from scratch:        --cfg-options model.backbone.init_cfg=None
_base_ = [
    'tessera_core::_base_/datasets/fashion_mnist.py',
    'tessera_core::_base_/schedules/adamw_cosine.py',
    '../_base_/default_runtime.py',
]
pretrained = 'work_dirs/mae_vit-micro-p4_fashion-mnist/epoch_6.pth'
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[72.94], std=[90.02]),
    backbone=dict(type='VisionTransformer', arch='micro', img_size=28, patch_size=4, in_channels=1,
                  out_type='avg_featmap', drop_path_rate=0.1,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=96,
              init_cfg=dict(type='TruncNormal', layer='Linear', std=2e-5),
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1), topk=(1,)),
)
train_dataloader = dict(batch_size=128, num_workers=0, persistent_workers=False, dataset=dict(indices=10000))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator
max_epochs = 5
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, custom_keys={'cls_token': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, by_epoch=True, begin=1, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=20))
auto_scale_lr = dict(base_batch_size=128)

# Linear probe of any pretrained 'micro' ViT (MAE's protocol, arXiv:2111.06377 Appendix A.2): the
# encoder is loaded from a pre-training checkpoint (keys backbone.*; MAE and SdAE students alike),
# frozen entirely (frozen_stages=6: patch embedding, class token, all blocks and the final norm;
# eval mode), its final-normed class token goes through BatchNorm1d(affine=False) and a linear
# classifier (init N(0, 0.01^2)). Trained on the same 10,000 Fashion-MNIST training images as the
# pre-training (5 epochs, no augmentation beyond the base's 2 px shift), tested on the 10,000 test images.
# SGD (momentum 0.9, lr 0.1 for batch 128, no weight decay, cosine) instead of MAE's LARS (not in
# this stack).
#   another checkpoint:      --cfg-options model.backbone.init_cfg.checkpoint=PATH
#   mean patch token:        --cfg-options model.backbone.out_type=avg_featmap
#   random-init floor:       --cfg-options model.backbone.init_cfg=None
_base_ = [
    'tessera_core::_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime.py',
]
pretrained = 'work_dirs/mae_vit-micro-p4_fashion-mnist/epoch_6.pth'
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[72.94], std=[90.02]),
    backbone=dict(type='VisionTransformer', arch='micro', img_size=28, patch_size=4, in_channels=1,
                  out_type='cls_token', frozen_stages=6,
                  init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=dict(type='ClsBatchNormNeck', input_features=96),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=96,
              loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0), topk=(1,)),
)
train_dataloader = dict(batch_size=128, num_workers=0, persistent_workers=False, dataset=dict(indices=10000))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator
max_epochs = 5
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs,
                        convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=max_epochs), logger=dict(interval=20))

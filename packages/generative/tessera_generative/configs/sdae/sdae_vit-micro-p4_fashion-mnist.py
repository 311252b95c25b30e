# SdAE (Chen et al., ECCV 2022) pre-training of the 'micro' ViT on 10,000 Fashion-MNIST images, at
# the same budget and recipe as MAE (../_base_/mim_vit-micro-p4_fashion-mnist.py): student = MAE
# encoder on the 12 visible patches + the same 2-block decoder predicting a 96-d feature per patch;
# EMA teacher (own random init, as the official code) encodes the masked patches in 3 disjoint folds
# of 12 (multi-fold masking; 37 masked -> 36 used, the official rule drops the remainder); targets =
# teacher outputs normalised over channels; loss 1 - cosine.
# Teacher EMA: the paper updates once per epoch over 300 epochs with momentum 0.96 -> 0.99 (cosine).
# With 6 epochs that would leave the teacher ~80 % at its random init, so here it is updated every
# iteration (the official per_ite option) with 1 - m rescaled by 300 / 468 updates: 0.9744 -> 0.9936,
# which keeps the paper's teacher lag as a fraction of training. The paper's own schedule:
# --cfg-options model.ema_by_epoch=True model.momentum=0.96 model.end_momentum=0.99
_base_ = ['../_base_/mim_vit-micro-p4_fashion-mnist.py']
model = dict(
    type='SdAE',
    neck=dict(predict_feature_dim=96),  # the encoder width: predict teacher features, not pixels
    head=dict(type='SdAEPretrainHead'),
    num_folds=3,
    num_masked_used=None,
    momentum=1 - 0.04 * 300 / 468,
    end_momentum=1 - 0.01 * 300 / 468,
    ema_by_epoch=False,
    teacher_init='independent',
)
custom_hooks = [dict(type='SdAETeacherUpdateHook')]

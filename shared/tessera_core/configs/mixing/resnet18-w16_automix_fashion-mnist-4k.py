# AutoMix (Liu et al., ECCV 2022, arXiv:2103.13027) on the shared recipe of
# resnet18-w16_none_fashion-mnist-4k.py. Official defaults (Westlake-AI/openmixup, configs/
# classification/cifar100/automix/basic/r18_l2_a2_near_L1_01_mlr5e_2.py and the ImageNet ones):
# alpha 2, Mix Block on stage 3 (here 64 x 7 x 7, reduction 2, lam concatenated as in the paper /
# ImageNet configs, nearest upsampling to 28 x 28), mask loss L1 with margin 0.1 and weight 0.1,
# lam_margin 0.08, loss weights mix_q = one_q = mix_k = 1, momentum cosine-scheduled from the base
# to 0.999999 over iterations [10 %, 100 %]. Changed for the 252-iteration budget (4 x 63): base momentum
# 0.99 (official 0.999 for ~200,000 iterations; 0.999 would leave the momentum encoder, which feeds
# and trains the Mix Block, within a few percent of its initialisation here).
_base_ = './resnet18-w16_none_fashion-mnist-4k.py'
model = dict(
    type='AutoMixClassifier',
    backbone=dict(out_indices=(2, 3)),
    mix_block=dict(type='MixBlock', in_channels=64, reduction=2, use_scale=True, lam_concat=True,
                   upsample_mode='nearest', mask_loss_margin=0.1),
    alpha=2.0,
    momentum=0.99,
    mix_feature_index=0,
    mask_loss_weight=0.1,
    lam_margin=0.08,
    loss_weights=dict(mix_q=1.0, one_q=1.0, mix_k=1.0),
    predict_encoder='k',
)
custom_hooks = [dict(type='AutoMixMomentumHook', end_momentum=0.999999, adjust_scope=(0.1, 1.0),
                     warming_up='constant')]

# MAE (He et al., arXiv:2111.06377) pre-training of the 'micro' ViT on 10,000 Fashion-MNIST images:
# encoder on the 12 visible patches of 49, 2-block 64-d decoder with mask tokens, per-patch
# normalised pixels as targets, MSE on the 37 masked patches only. Budget and recipe shared with
# SdAE: ../_base_/mim_vit-micro-p4_fashion-mnist.py. Linear probe of the result:
# vit-micro-p4_linear-probe_fashion-mnist.py.
_base_ = ['../_base_/mim_vit-micro-p4_fashion-mnist.py']
model = dict(
    type='MAE',
    head=dict(type='MAEPretrainHead', norm_pix=True, patch_size=4,
              loss=dict(type='PixelReconstructionLoss', criterion='L2')),
)

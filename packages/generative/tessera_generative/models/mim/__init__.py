from .mae import MAE
from .mae_decoder import MAEPretrainDecoder
from .mae_head import MAEPretrainHead, PixelReconstructionLoss, patchify, unpatchify
from .mae_vit import MAEViT
from .masking import check_mask_ratio, multi_fold_split, random_masking
from .pos_embed import build_2d_sincos_position_embedding
from .sdae import SdAE, SdAEPretrainHead, cosine_momentum
from .vision_transformer import ARCH_ZOO, VisionTransformer
from .cls_batchnorm_neck import ClsBatchNormNeck

__all__ = ['VisionTransformer', 'ARCH_ZOO', 'MAEViT', 'MAEPretrainDecoder', 'MAEPretrainHead',
           'PixelReconstructionLoss', 'MAE', 'SdAE', 'SdAEPretrainHead', 'ClsBatchNormNeck',
           'random_masking', 'multi_fold_split', 'check_mask_ratio', 'build_2d_sincos_position_embedding',
           'cosine_momentum', 'patchify', 'unpatchify']

from .image_captioner import ImageCaptioner, build_caption_tokenizer, dataset_captions
from .transformer_decoder import TransformerCaptionDecoder, causal_mask
from .visual_grid_encoder import VisualGridEncoder, sincos_2d

__all__ = ['VisualGridEncoder', 'sincos_2d', 'TransformerCaptionDecoder', 'causal_mask', 'ImageCaptioner',
           'build_caption_tokenizer', 'dataset_captions']

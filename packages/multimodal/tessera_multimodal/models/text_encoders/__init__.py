from .bert_encoder import BertEncoder, BertLMHead
from .text_transformer import CLIPTextTransformer, QuickGELU, ResidualAttentionBlock, build_causal_mask

__all__ = ['BertEncoder', 'BertLMHead', 'CLIPTextTransformer', 'QuickGELU', 'ResidualAttentionBlock', 'build_causal_mask']

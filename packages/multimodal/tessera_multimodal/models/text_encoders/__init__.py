from .text_transformer import CLIPTextTransformer, QuickGELU, ResidualAttentionBlock, build_causal_mask

__all__ = ['CLIPTextTransformer', 'QuickGELU', 'ResidualAttentionBlock', 'build_causal_mask']

from .masked_lm import IGNORE, MaskedLanguageModel, mlm_mask
from .token_ids import TokenIds

__all__ = ['IGNORE', 'MaskedLanguageModel', 'TokenIds', 'mlm_mask']

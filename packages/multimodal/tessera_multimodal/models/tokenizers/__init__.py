from .word_tokenizer import WordTokenizer
from .wordpiece_tokenizer import WordPieceTokenizer

__all__ = ['WordTokenizer', 'WordPieceTokenizer']

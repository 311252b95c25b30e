from .word_tokenizer import WordTokenizer

__all__ = ['WordTokenizer']

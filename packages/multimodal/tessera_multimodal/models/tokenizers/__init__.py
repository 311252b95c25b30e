from .checkpoint_vocab import CheckpointVocabMixin, tensor_to_vocab, vocab_to_tensor
from .word_tokenizer import WordTokenizer
from .wordpiece_tokenizer import WordPieceTokenizer

__all__ = ['WordTokenizer', 'WordPieceTokenizer', 'CheckpointVocabMixin', 'tensor_to_vocab', 'vocab_to_tensor']

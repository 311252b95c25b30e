"""WordPieceTokenizer: trained vocabulary, special ids, batching, errors, checkpoint state."""
import pytest
import torch

from tessera_multimodal.models.tokenizers import WordPieceTokenizer
from tessera_multimodal.registry import TOKENIZERS

TEXTS = ['A penguin on the left and a red apple at the bottom right.',
         'There are two things. The penguin is bigger than the red apple.',
         'A red apple.', 'A penguin.', 'Two penguins are playing.', 'Some apples are red.']


def tok(**kw):
    return WordPieceTokenizer.train(TEXTS, vocab_size=kw.pop('vocab_size', 80), **kw)


def test_specials_and_registry():
    t = tok()
    assert (t.pad_id, t.unk_id, t.cls_id, t.sep_id, t.mask_id) == (0, 1, 2, 3, 4)
    assert t.vocab[:5] == ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
    assert t.vocab_size == len(t.vocab) <= 80
    assert TOKENIZERS.get('WordPieceTokenizer') is WordPieceTokenizer


def test_round_trip_and_batch():
    t = tok()
    for text in TEXTS:
        ids = t.encode(text)
        assert t.unk_id not in ids and all(i > 4 for i in ids)
        assert t.decode(ids) == ' '.join(t.decode(t.encode(w)) for w in text.split())
    assert t.decode(t.encode('A red apple.')) == 'a red apple .'
    batch = t.encode_batch(['A red apple.', 'A penguin.'], length=8)
    assert batch.shape == (2, 8) and batch.dtype == torch.long
    ids = t.encode('A red apple.')
    assert batch[0].tolist() == [2] + ids + [3] + [0] * (8 - len(ids) - 2)
    assert t.decode(batch[0]) == 'a red apple .'
    # decode stops at [SEP], drops [MASK]/[PAD]/[CLS]
    assert t.decode([2, ids[0], 4, ids[1], 3, ids[2]]) == t.decode([ids[0], ids[1]])
    nosp = t.encode_batch(['A red apple.'], length=6, add_special=False)
    assert nosp[0, :len(ids)].tolist() == ids


def test_deterministic_and_order_free():
    a, b = tok(), WordPieceTokenizer.train(list(reversed(TEXTS)), vocab_size=80)
    assert a.vocab == b.vocab


def test_unseen_word_pieces_or_unk():
    t = tok(vocab_size=200)
    # 'apples' was seen, 'penguinapple' not: it is built from pieces, an unseen character gives [UNK]
    ids = t.encode('penguinapple')
    assert t.unk_id not in ids and len(ids) >= 2
    assert t.decode(ids) == 'penguinapple'
    assert t.encode('zebra') == [t.unk_id]  # 'z' is not in the corpus


def test_save_load_state(tmp_path):
    t = tok()
    path = t.save(str(tmp_path / 'vocab.txt'))
    assert WordPieceTokenizer.from_file(path).vocab == t.vocab
    state = t.state_dict()
    assert set(state) == {'vocab'} and all(isinstance(s, str) for s in state['vocab'])
    assert WordPieceTokenizer.from_state_dict(state).vocab == t.vocab


def test_errors(tmp_path):
    t = tok()
    with pytest.raises(ValueError, match=r"'A penguin on the left.*length=5.*truncate=True"):
        t.encode_batch([TEXTS[0]], length=5)
    cut = t.encode_batch([TEXTS[0]], length=5, truncate=True)
    assert cut[0, 0] == 2 and cut[0, -1] == 3
    path = t.save(str(tmp_path / 'vocab.txt'))
    loaded = WordPieceTokenizer.from_file(path)
    with pytest.raises(ValueError, match=r'vocab\.txt.*has \d+ tokens.*has 999 rows'):
        loaded.check_matches_embedding(999, 'model.embed')
    loaded.check_matches_embedding(t.vocab_size)
    with pytest.raises(ValueError, match='must start with the specials'):
        WordPieceTokenizer(['a', 'b'])
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        WordPieceTokenizer.from_file(str(tmp_path / 'missing.txt'))
    with pytest.raises(KeyError, match="'vocab'"):
        WordPieceTokenizer.from_state_dict({'words': []})

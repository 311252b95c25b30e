"""Word tokenizer round trips and errors; caption templates and the captioned dataset."""
import numpy as np
import pytest
import torch

from tessera_multimodal.datasets import (DIGIT_CAPTION_VOCAB, DIGIT_CLASSES, TRAIN_TEMPLATES, ZERO_SHOT_TEMPLATES,
                                         CaptionedDigits, class_prompts, fill_template, resolve_templates)
from tessera_multimodal.models import WordTokenizer
from tessera_multimodal.registry import TOKENIZERS


def _all_prompts():
    return [p for templates in (TRAIN_TEMPLATES, ZERO_SHOT_TEMPLATES)
            for prompts in class_prompts(templates) for p in prompts]


def test_exact_ids_and_padding():
    tok = WordTokenizer(vocab=['a', 'b', '7'], context_length=6)
    assert tok.vocab_size == 6 and (tok.pad_id, tok.sot_id, tok.eot_id) == (0, 1, 2)
    assert tok.encode('b a 7') == [1, 4, 3, 5, 2]
    batch = tok(['b', 'a 7'])
    assert batch.dtype == torch.long
    assert batch.tolist() == [[1, 4, 2, 0, 0, 0], [1, 3, 5, 2, 0, 0]]


def test_round_trip_of_every_prompt():
    tok = WordTokenizer(context_length=16)
    prompts = _all_prompts()
    assert len(prompts) == 10 * (len(TRAIN_TEMPLATES) + len(ZERO_SHOT_TEMPLATES))
    tokens = tok(prompts)
    assert tokens.shape == (len(prompts), 16)
    for text, row in zip(prompts, tokens):
        assert tok.decode(row) == text
        assert tok.decode(tok.encode(text)) == text
        assert row[0] == tok.sot_id and (row == tok.eot_id).sum() == 1


def test_normalisation_is_deterministic():
    tok = WordTokenizer()
    assert tok.decode(tok.encode('  A Handwritten\t7 ')) == 'a handwritten 7'
    assert tok.encode('A handwritten 7') == tok.encode('a handwritten 7')
    assert WordTokenizer.split('the digit 42') == ['the', 'digit', '4', '2']


def test_unknown_word_error_names_it_and_lists_the_vocabulary():
    tok = WordTokenizer()
    with pytest.raises(ValueError, match=r"unknown word\(s\) \['cat'\].*'digit'"):
        tok.encode('a photo of a cat')
    with pytest.raises(ValueError, match='unknown'):
        tok.encode('<eot>')          # special tokens cannot be typed in


def test_overlong_text_error_names_the_context_length():
    tok = WordTokenizer(context_length=7)
    tok.encode('a photo of the digit')              # 5 words + 2 = 7 tokens: fits
    with pytest.raises(ValueError, match='8 tokens.*context_length=7'):
        tok.encode('a photo of the digit seven')
    with pytest.raises(ValueError, match='context_length'):
        tok(['a', 'a photo of the digit seven'])


def test_bad_vocabularies_and_ids():
    with pytest.raises(ValueError, match="duplicate.*'a'"):
        WordTokenizer(vocab=['a', 'b', 'a'])
    with pytest.raises(ValueError, match='not single tokens'):
        WordTokenizer(vocab=['a b', '42'])
    with pytest.raises(ValueError, match='context_length must be >= 3'):
        WordTokenizer(context_length=2)
    with pytest.raises(ValueError, match='out of range'):
        WordTokenizer().decode([1, 999])


def test_registered():
    tok = TOKENIZERS.build(dict(type='WordTokenizer', context_length=12))
    assert isinstance(tok, WordTokenizer) and tok.context_length == 12


def test_vocabulary_is_exactly_the_words_of_the_templates():
    words = {w for p in _all_prompts() for w in WordTokenizer.split(p)}
    assert words == set(DIGIT_CAPTION_VOCAB)
    assert list(DIGIT_CAPTION_VOCAB) == sorted(DIGIT_CAPTION_VOCAB)


def test_zero_shot_templates_are_held_out():
    assert not set(TRAIN_TEMPLATES) & set(ZERO_SHOT_TEMPLATES)
    train_captions = {p for prompts in class_prompts(TRAIN_TEMPLATES) for p in prompts}
    zs_prompts = {p for prompts in class_prompts(ZERO_SHOT_TEMPLATES) for p in prompts}
    assert not train_captions & zs_prompts


def test_fill_template_errors():
    assert fill_template('a handwritten {numeral}', DIGIT_CLASSES[7]) == 'a handwritten 7'
    with pytest.raises(KeyError, match="'colour'"):
        fill_template('a {colour} digit', DIGIT_CLASSES[0])


def test_captioned_digits_are_seeded_and_match_labels():
    ds = CaptionedDigits(source='sklearn', split='test', pipeline=[])
    assert len(ds) == 300
    again = CaptionedDigits(source='sklearn', split='test', pipeline=[])
    other = CaptionedDigits(source='sklearn', split='test', caption_seed=1, pipeline=[])
    caps = [ds.get_data_info(i)['caption'] for i in range(len(ds))]
    assert caps == [again.get_data_info(i)['caption'] for i in range(len(ds))]
    assert caps != [other.get_data_info(i)['caption'] for i in range(len(ds))]
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['caption'] == fill_template(TRAIN_TEMPLATES[info['template_idx']], DIGIT_CLASSES[info['gt_label']])
    counts = np.bincount([ds.get_data_info(i)['template_idx'] for i in range(len(ds))], minlength=8)
    assert (counts > 0).all()                      # every training template is used
    with pytest.raises(KeyError, match="unknown template set 'a {word}'.*'train', 'zero_shot'"):
        CaptionedDigits(templates='a {word}', source='sklearn', pipeline=[])


def test_template_sets_by_name():
    assert resolve_templates('train') == TRAIN_TEMPLATES
    assert resolve_templates('zero_shot') == ZERO_SHOT_TEMPLATES
    assert resolve_templates(['a {word}']) == ('a {word}',)
    with pytest.raises(ValueError, match='at least one'):
        resolve_templates([])

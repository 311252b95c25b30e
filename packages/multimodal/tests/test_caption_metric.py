"""CaptionMetric: equals pycocoevalcap's scorers called directly; perfect match; per-level keys; errors."""
import shutil

import pytest
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge

from tessera_multimodal.evaluation import CaptionMetric, simple_ptb_like_tokenize
from tessera_multimodal.registry import METRICS

SAMPLES = [
    dict(pred_caption='A penguin, on the left.', gt_captions=['A penguin on the left.', 'The penguin is left.'],
         length_level=0),
    dict(pred_caption='Two red apples!', gt_captions=['A red apple and a penguin.'], length_level=0),
    dict(pred_caption="The cat isn't big.", gt_captions=["The cat isn't big.", 'A small cat.'], length_level=1),
    dict(pred_caption='A blue car at the top right.', gt_captions=['A blue car at the top right of the picture.'],
         length_level=1),
]
# the same captions tokenised by hand the way PTBTokenizer does (lower case, punctuation dropped, n't split)
TOK_GTS = {0: ['a penguin on the left', 'the penguin is left'], 1: ['a red apple and a penguin'],
           2: ["the cat is n't big", 'a small cat'], 3: ['a blue car at the top right of the picture']}
TOK_RES = {0: ['a penguin on the left'], 1: ['two red apples'], 2: ["the cat is n't big"],
           3: ['a blue car at the top right']}


def reference(ids):
    g, r = {i: TOK_GTS[i] for i in ids}, {i: TOK_RES[i] for i in ids}
    b, _ = Bleu(4).compute_score(g, r)
    return {'BLEU-1': b[0], 'BLEU-2': b[1], 'BLEU-3': b[2], 'BLEU-4': b[3],
            'ROUGE_L': Rouge().compute_score(g, r)[0], 'CIDEr': Cider().compute_score(g, r)[0]}


def run(samples, **kw):
    m = METRICS.build(dict(type='CaptionMetric', meteor=False, **kw))
    m.process(None, samples)
    return m.evaluate(len(samples))


@pytest.mark.parametrize('tokenizer', ['simple', pytest.param('ptb', marks=pytest.mark.skipif(
    shutil.which('java') is None, reason='java (Debian default-jre) not installed'))])
def test_equals_pycocoevalcap_directly(tokenizer):
    out = run(SAMPLES, tokenizer=tokenizer)
    for k, v in reference([0, 1, 2, 3]).items():
        assert out[f'caption/{k}'] == pytest.approx(v, abs=1e-9), k
    for level, ids in ((0, [0, 1]), (1, [2, 3])):
        for k, v in reference(ids).items():
            assert out[f'caption/L{level}/{k}'] == pytest.approx(v, abs=1e-9), (level, k)


def test_perfect_match_and_tokenizer():
    same = [dict(pred_caption=s['gt_captions'][0], gt_captions=s['gt_captions'][:1]) for s in SAMPLES]
    out = run(same, tokenizer='simple')
    assert out['caption/BLEU-4'] == pytest.approx(1.0) and out['caption/ROUGE_L'] == pytest.approx(1.0)
    assert not any('/L' in k for k in out)
    assert simple_ptb_like_tokenize("Don't go, Sam... it's late!") == "do n't go sam it 's late"


def test_generated_levels_scored_against_the_same_references():
    # level 1 predicts the first two samples' own tokenised captions, level 2 the other two's
    per_level = [dict(pred_caption=s['pred_caption'], gt_captions=s['gt_captions'],
                      pred_captions={1: s['pred_caption'], 2: SAMPLES[(i + 2) % 4]['pred_caption']})
                 for i, s in enumerate(SAMPLES)]
    out = run(per_level, tokenizer='simple')
    for k, v in reference([0, 1, 2, 3]).items():
        assert out[f'caption/gen-L1/{k}'] == pytest.approx(v, abs=1e-9), k
        assert out[f'caption/{k}'] == pytest.approx(v, abs=1e-9), k
    swapped = {i: TOK_RES[(i + 2) % 4] for i in range(4)}
    b, _ = Bleu(4).compute_score(TOK_GTS, swapped)
    assert out['caption/gen-L2/BLEU-4'] == pytest.approx(b[3], abs=1e-9)
    assert out['caption/gen-L2/CIDEr'] == pytest.approx(Cider().compute_score(TOK_GTS, swapped)[0], abs=1e-9)
    words = sum(len(TOK_RES[i][0].split()) for i in range(4)) / 4
    assert out['caption/gen-L1/words'] == pytest.approx(words) == out['caption/gen-L2/words']
    with pytest.raises(KeyError, match='pred_captions must map a level'):
        CaptionMetric(meteor=False, tokenizer='simple').process(
            None, [dict(pred_caption='a', gt_captions=['a'], pred_captions=['a'])])


def test_errors():
    with pytest.raises(ValueError, match="tokenizer='nltk' is not one of"):
        CaptionMetric(tokenizer='nltk')
    m = CaptionMetric(meteor=False, tokenizer='simple')
    with pytest.raises(KeyError, match='pred_caption'):
        m.process(None, [dict(gt_captions=['a'])])
    with pytest.raises(KeyError, match='gt_captions'):
        m.process(None, [dict(pred_caption='a', gt_captions=[])])


def test_meteor_follows_java():
    assert CaptionMetric(tokenizer='simple').meteor is (shutil.which('java') is not None)

"""LaBERT: length levels, mask-predict schedule (stub predictor), exact output lengths, training masks."""
import pytest
import torch
from mmengine.structures import BaseDataElement

from tessera_multimodal.models import LaBERT, LengthLevels, label_smoothed_loss, mask_predict, num_remask

BACKBONE = dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8, out_indices=(3,))


def small_labert(**kw):
    torch.manual_seed(0)
    cfg = dict(image_backbone=BACKBONE, tokenizer=dict(type='WordTokenizer', context_length=16),
               bert=dict(hidden_size=32, num_layers=1, num_heads=2), length_bins='digits', steps=3)
    cfg.update(kw)
    return LaBERT(**cfg).eval()


def test_num_remask_is_official_linear_decay():
    # official: max(1, int(high * (1 - step / total_steps))) for step = 1 .. T-1
    assert [num_remask(9, t, 10) for t in range(1, 10)] == [8, 7, 6, 5, 4, 3, 2, 1, 1]
    assert [num_remask(25, t, 20) for t in (1, 10, 19)] == [23, 12, 1]


def test_mask_predict_remasks_exactly_lowest_confidence_and_counts_passes():
    L, V, MASK, T = 6, 10, 9, 4
    calls = []
    # hand-set confidences: pass 0 gives position i probability conf0[i] on token i;
    # later passes give the re-masked position token 5 with probability 0.95
    conf0 = torch.tensor([0.9, 0.2, 0.8, 0.1, 0.5, 0.3])

    def predict(ids):
        calls.append(ids.clone())
        p = torch.full((1, L, V), 0.0)
        if len(calls) == 1:
            assert (ids == MASK).all()
            for i in range(L):
                p[0, i, i] = conf0[i]
                p[0, i, 8] = (1 - conf0[i]) / 2
        else:
            p[0, :, 5] = 0.95
        return p

    hist = []
    out = mask_predict(predict, 1, L, T, MASK, history=hist)
    assert len(calls) == T  # one pass per step
    assert [int(h.sum()) for h in hist] == [num_remask(L, t, T) for t in range(1, T)] == [4, 3, 1]
    # step 1: the 4 lowest of conf0: positions 3 (0.1), 1 (0.2), 5 (0.3), 4 (0.5)
    assert hist[0][0].nonzero().flatten().tolist() == [1, 3, 4, 5]
    assert (calls[1][0, [1, 3, 4, 5]] == MASK).all() and calls[1][0, [0, 2]].tolist() == [0, 2]
    # after step 1 confidences: kept positions (0.9+0.95)/2=0.925, (0.8+0.95)/2=0.875; re-predicted 0.95
    # step 2: the 3 lowest -> position 2 (0.875), 0 (0.925), then one of the 0.95 ties
    assert {0, 2} <= set(hist[1][0].nonzero().flatten().tolist())
    assert out.shape == (1, L) and (out == 5).all()


def test_mask_predict_eos_decay_applies_from_low():
    L, V, MASK, EOS = 4, 5, 4, 2

    def predict(ids):
        p = torch.zeros(1, L, V)
        p[0, :, EOS] = 0.6
        p[0, :, 1] = 0.5
        return p

    out = mask_predict(predict, 1, L, 1, MASK, eos_id=EOS, eos_from=2, eos_decay=0.5)
    assert out[0].tolist() == [EOS, EOS, 1, 1]


def test_eos_penalty_is_official_cumprod_flip():
    # official inference.py: (ones(high - low + 1) * d).cumprod(-1).flip(-1) on positions low-1 .. high-1
    from tessera_multimodal.models.labert.mask_predict import eos_penalty
    f = eos_penalty(24, 11, 0.88)  # stamps L2 = 12-24: 13 positions
    assert f.shape == (13,)
    assert torch.allclose(f, torch.tensor([0.88 ** (13 - j) for j in range(13)]))
    assert f[0].item() == pytest.approx(0.88 ** 13) and f[-1].item() == pytest.approx(0.88)
    assert (eos_penalty(5, 2, 1.0) == 1).all()
    with pytest.raises(ValueError, match='no position'):
        eos_penalty(5, 5, 0.9)


def test_mask_predict_eos_penalty_strongest_at_the_bin_start():
    # P(eos) 0.6 vs a word 0.5 everywhere; decay 0.9 from position 2 of 4: factors 0.81, 0.9.
    # 0.6 * 0.81 = 0.486 < 0.5 -> word at position 2; 0.6 * 0.9 = 0.54 -> [EOS] at position 3.
    # (A constant factor 0.9 would keep [EOS] at both.)
    L, V, MASK, EOS = 4, 5, 4, 2

    def predict(ids):
        p = torch.zeros(ids.size(0), L, V)
        p[:, :, EOS] = 0.6
        p[:, :, 1] = 0.5
        return p

    out = mask_predict(predict, 2, L, 3, MASK, eos_id=EOS, eos_from=2, eos_decay=0.9)
    assert out.tolist() == [[EOS, EOS, 1, EOS]] * 2


def test_decoding_has_exactly_the_requested_length_per_level():
    m = small_labert(steps=[2, 3, 4])
    x = torch.randn(2, 1, 28, 28)
    for level, (lo, hi) in enumerate(m.levels.bins, 1):
        calls = []
        orig = m.logits
        m.logits = lambda img, ids, lv, _o=orig: (calls.append(ids.shape), _o(img, ids, lv))[1]
        ids = m.generate(x, level)
        m.logits = orig
        assert ids.shape == (2, hi)
        assert len(calls) == m.steps[level - 1] and all(s == (2, hi) for s in calls)


def test_bad_level_lists_valid_bins():
    m = small_labert()
    with pytest.raises(ValueError, match=r'valid levels: L1=1-3, L2=4-6, L3=7-9'):
        m.generate(torch.randn(1, 1, 28, 28), 4)
    with pytest.raises(ValueError, match='L1=1-3'):
        small_labert(test_levels=[0])
    with pytest.raises(ValueError, match='ascending'):
        LengthLevels([(5, 9), (3, 4)])
    with pytest.raises(ValueError, match='3 length levels'):
        small_labert(steps=[1, 2])


def test_targets_padded_with_eos_to_level_high_and_level_types():
    m = small_labert(length_bins=[(1, 4), (5, 7), (8, 10)])
    t, lv = m.encode_targets(['the number seven', 'a photo of the digit two', 'a black and white photo of the number one'])
    assert lv.tolist() == [1, 2, 3]
    eos, pad = m.ids.eos_id, m.ids.pad_id
    assert t.shape == (3, 10)
    assert t[0, 3:].tolist() == [eos] + [pad] * 6
    assert t[1, 6:].tolist() == [eos] + [pad] * 3
    assert t[2, 9].item() == eos and (t[2, :9] != eos).all()
    assert m.ids.decode(t[1]) == 'a photo of the digit two'
    with pytest.raises(ValueError, match='none of the length bins'):
        small_labert(length_bins=[(1, 2)]).encode_targets(['a photo of the digit two'])


def test_training_masks_count_between_min_share_and_high():
    m = small_labert()
    t, _ = m.encode_targets(['the number seven'] * 200 + ['a black and white photo of the number one'] * 200)
    g = torch.Generator().manual_seed(0)
    mk = m.random_masks(t, generator=g)
    n = mk.sum(1)
    assert not (mk & (t == m.ids.pad_id)).any()
    assert n[:200].min() >= 1 and n[:200].max() <= 3 and set(n[:200].tolist()) == {1, 2, 3}
    assert n[200:].min() >= 1 and n[200:].max() <= 9 and len(set(n[200:].tolist())) == 9


def test_loss_only_on_masked_positions_and_official_label_smoothing():
    m = small_labert()
    x = torch.randn(2, 1, 28, 28)
    ds = [BaseDataElement(metainfo=dict(caption='the number seven')) for _ in range(2)]
    torch.manual_seed(1)
    loss = m(x, ds, 'loss')['loss_mlm']
    assert torch.isfinite(loss)
    # closed form of the smoothed loss: V=3, s=0.3, target 0, uniform logits -> -log(1/3)
    lg = torch.zeros(1, 3)
    assert torch.allclose(label_smoothed_loss(lg, torch.tensor([0]), 0.3), torch.log(torch.tensor(3.0)))
    w = torch.tensor([0.5, 1.0, 1.0])
    lg = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    per = -lg.log_softmax(-1)[[0, 1], [0, 1]]
    assert torch.allclose(label_smoothed_loss(lg, torch.tensor([0, 1]), 0.0, w), (0.5 * per[0] + per[1]) / 1.5)


def test_outputs_depend_on_level_embedding():
    m = small_labert()
    x = torch.randn(1, 1, 28, 28)
    img = m.image_tokens(x)
    ids = torch.full((1, 3), m.ids.mask_id)
    assert not torch.allclose(m.logits(img, ids, 1), m.logits(img, ids, 2))


def test_skip_out_of_bins_drops_captions_outside_every_bin():
    m = small_labert(length_bins=[(1, 3)], steps=2, skip_out_of_bins=True)
    ds = [BaseDataElement(metainfo=dict(captions={'a': 'the number seven', 'b': 'a photo of the digit two'})),
          BaseDataElement(metainfo=dict(caption='a photo of the digit two'))]
    for _ in range(5):
        caps, keep = m._captions_for_training(ds)
        assert caps == ['the number seven'] and keep == [0]
    assert torch.isfinite(m.train()(torch.randn(2, 1, 28, 28), ds, 'loss')['loss_mlm'])


def test_learned_vocabulary_travels_in_the_checkpoint(tmp_path):
    from tessera_core.engine.safe_checkpoint import safe_load
    from tessera_multimodal.models.tokenizers import WordPieceTokenizer
    texts = ['a zero on the left', 'the digit one', 'a written two here', 'three is drawn']
    vocab = WordPieceTokenizer.train(texts, vocab_size=60).vocab
    m = small_labert(tokenizer=dict(type='WordPieceTokenizer', vocab=vocab))
    torch.save({'state_dict': m.state_dict()}, tmp_path / 'labert.pth')
    state = safe_load(str(tmp_path / 'labert.pth'))['state_dict']
    assert 'tokenizer_vocab' in state
    # a model built with the same-size vocabulary in another order decodes with the checkpoint's after loading
    shuffled = vocab[:5] + vocab[5:][::-1]
    other = small_labert(tokenizer=dict(type='WordPieceTokenizer', vocab=shuffled))
    assert other.ids.tokenizer.vocab != vocab
    other.load_state_dict(state)
    assert other.ids.tokenizer.vocab == vocab
    ids = torch.tensor(m.ids.words('a written two'))
    assert other.ids.decode(ids) == m.ids.decode(ids) == 'a written two'
    bigger = WordPieceTokenizer.train(texts + ['four five six seven eight nine'], vocab_size=90).vocab
    assert len(bigger) != len(vocab)
    with pytest.raises(ValueError, match='bert.word_embeddings'):
        small_labert(tokenizer=dict(type='WordPieceTokenizer', vocab=bigger)).load_state_dict(state)
    # a word-level tokenizer has nothing learned to keep
    assert 'tokenizer_vocab' not in small_labert().state_dict()

"""ImageCaptioner: teacher forcing equals step-by-step decoding, beam 1 = greedy, pad-ignoring loss,
vocabulary restored from a checkpoint (core's safe loader), clear errors."""
import pytest
import torch
from mmengine.structures import BaseDataElement

from tessera_core.engine.safe_checkpoint import safe_load
from tessera_multimodal.models.captioners import ImageCaptioner
from tessera_multimodal.models.tokenizers import WordPieceTokenizer
from tessera_multimodal.registry import MODELS

TEXTS = ['a penguin on the left', 'a red apple at the top', 'two penguins and a red apple',
         'a small blue car', 'the car is bigger than the apple']


def model(texts=TEXTS, seed=0, **kw):
    torch.manual_seed(seed)
    tok = WordPieceTokenizer.train(texts, vocab_size=60)
    kw.setdefault('tokenizer', dict(vocab=tok.vocab))
    cfg = dict(type='ImageCaptioner', max_length=12,
               visual_encoder=dict(type='VisualGridEncoder', out_dim=32, backbone=dict(
                   type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8, out_indices=(3,))),
               decoder=dict(dim=32, num_layers=2, num_heads=4, dropout=0.0), **kw)
    return MODELS.build(cfg).eval()


def samples(caps):
    out = []
    for c in caps:
        s = BaseDataElement()
        s.set_metainfo(dict(caption=c))
        out.append(s)
    return out


def test_teacher_forcing_equals_step_by_step():
    m = model()
    x = torch.randn(3, 1, 16, 16)
    with torch.no_grad():
        mem = m.encode_images(x)
        ids = m.greedy(mem)  # greedy ids, built one step at a time
        assert ids.shape[1] > 2
        tf = m.decoder(ids[:, :-1], mem)  # one teacher-forced pass over the whole sequence
        for t in range(1, ids.shape[1]):
            step = m.decoder(ids[:, :t], mem)[:, -1]
            assert torch.allclose(step, tf[:, t - 1], atol=1e-5)
            live = (ids[:, :t] != m.tokenizer.pad_id).all(1) & (ids[:, t - 1] != m.tokenizer.sep_id)
            assert torch.equal(tf[live, t - 1].argmax(-1), ids[live, t])
        # a causal mask that were wrong would let position 0 see the future: changing later tokens changes it
        other = ids[:, :-1].clone()
        other[:, 1:] = 7
        assert torch.allclose(m.decoder(other, mem)[:, 0], tf[:, 0], atol=1e-6)


def test_beam_one_is_greedy_and_beam_scores():
    m = model()
    x = torch.randn(4, 1, 16, 16)
    with torch.no_grad():
        mem = m.encode_images(x)
        g = m.greedy(mem)
        b1 = m.beam(mem, beam_size=1)
        assert torch.equal(g, b1[:, :g.shape[1]]) and (b1[:, g.shape[1]:] == 0).all()

        def logp(seq):
            lp = torch.log_softmax(m.decoder(seq[None, :-1], mem[:1])[0], -1)
            n = int((seq[1:] != 0).sum())
            return float(lp[torch.arange(n), seq[1:n + 1]].sum())
        b3 = m.beam(mem[:1], beam_size=3)[0]
        assert logp(b3) >= logp(g[0]) - 1e-5  # beam search never scores below greedy


def test_loss_ignores_pad():
    m = model()
    x = torch.randn(2, 1, 16, 16)
    loss = m(x, samples(TEXTS[:2]), mode='loss')['loss']
    ids = m.tokenizer.encode_batch(TEXTS[:2], 12)
    logits = m.decoder(ids[:, :-1], m.encode_images(x))
    keep = ids[:, 1:] != 0
    manual = torch.nn.functional.cross_entropy(logits[keep], ids[:, 1:][keep])
    assert torch.allclose(loss, manual, atol=1e-5)
    out = m.predict(x, samples(TEXTS[:2]))
    assert all(isinstance(s.pred_caption, str) for s in out)


def test_checkpoint_restores_vocabulary(tmp_path):
    m = model()
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': m.state_dict(), 'meta': {}}, path)
    state = safe_load(str(path))['state_dict']
    other = model(texts=[t.replace('a', 'o') for t in TEXTS], seed=1)
    assert other.tokenizer.vocab != m.tokenizer.vocab
    if other.decoder.token_embed.num_embeddings == m.decoder.token_embed.num_embeddings:
        other.load_state_dict(state)
        assert other.tokenizer.vocab == m.tokenizer.vocab
    small = WordPieceTokenizer.train(TEXTS, vocab_size=40)
    bad = MODELS.build(dict(type='ImageCaptioner', tokenizer=dict(vocab=small.vocab), max_length=12,
                            visual_encoder=dict(type='VisualGridEncoder', out_dim=32, backbone=dict(
                                type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8,
                                out_indices=(3,))), decoder=dict(dim=32, num_layers=2, num_heads=4)))
    with pytest.raises(ValueError, match=r'checkpoint tokenizer_vocab has \d+ tokens .* has 4\d rows'):
        bad.load_state_dict(state)


def test_errors():
    m = model()
    with pytest.raises(ValueError, match=r"more than length=12"):
        m.target_ids(samples(['a penguin ' * 10]))
    with pytest.raises(ValueError, match="decoding type 'sample' is not one of"):
        model(decoding=dict(type='sample'))
    with pytest.raises(KeyError, match="one of 'vocab_file', 'vocab', 'train_dataset'"):
        model(tokenizer=dict(words=[]))

"""BertEncoder (post-LN, prefix tokens, padding) and masked-LM pretraining (15 %, 80/10/10, loss on chosen only)."""
import torch
from mmengine.structures import BaseDataElement

from tessera_multimodal.models import IGNORE, BertEncoder, MaskedLanguageModel, mlm_mask


def test_bert_shapes_prefix_and_padding_invariance():
    torch.manual_seed(0)
    enc = BertEncoder(vocab_size=20, hidden_size=16, num_layers=2, num_heads=2, type_vocab_size=3).eval()
    ids = torch.tensor([[5, 6, 7, 0, 0]])
    h = enc(ids)
    assert h.shape == (1, 5, 16)
    # padded positions are not attended: the first 3 outputs equal those of the unpadded sequence
    assert torch.allclose(h[:, :3], enc(ids[:, :3]), atol=1e-5)
    prefix = torch.randn(1, 4, 16)
    hp = enc(ids, prefix=prefix)
    assert hp.shape == (1, 9, 16)
    assert not torch.allclose(hp[:, 4:7], h[:, :3])  # text attends to the prefix
    # post-LN as BERT: every output row has ~zero mean and unit variance (final LayerNorm, unit gain)
    assert torch.allclose(h.mean(-1), torch.zeros(1, 5), atol=1e-5)
    assert enc.layers.layers[0].norm_first is False


def test_mlm_mask_share_and_80_10_10():
    g = torch.Generator().manual_seed(0)
    B, L, V, MASK = 2000, 20, 50, 49
    ids = torch.randint(3, 40, (B, L), generator=g)
    cand = torch.ones(B, L, dtype=torch.bool)
    cand[:, 10:] = False  # only 10 candidates per row -> round(1.5) = 2 chosen
    inp, labels = mlm_mask(ids, cand, MASK, V, 0.15, generator=g)
    chosen = labels != IGNORE
    assert (chosen.sum(1) == 2).all() and not chosen[:, 10:].any()
    assert torch.equal(labels[chosen], ids[chosen])
    assert torch.equal(inp[~chosen], ids[~chosen])  # unchosen never changed
    frac_mask = (inp[chosen] == MASK).float().mean().item()
    frac_same = (inp[chosen] == ids[chosen]).float().mean().item()
    assert abs(frac_mask - 0.8) < 0.03
    assert abs(frac_same - 0.1) < 0.03  # 10 % kept (plus rare random draws of the same id)


def test_mlm_loss_ignores_unmasked_positions():
    torch.manual_seed(0)
    m = MaskedLanguageModel(tokenizer=dict(type='WordTokenizer', context_length=16),
                            encoder=dict(hidden_size=16, num_layers=1, num_heads=2), max_length=10)
    logits = torch.randn(2, 10, m.ids.num_embeddings)
    labels = torch.full((2, 10), IGNORE)
    labels[0, 3], labels[1, 0] = 4, 7
    ref = torch.nn.functional.cross_entropy(logits[[0, 1], [3, 0]], torch.tensor([4, 7]))
    assert torch.allclose(m.mlm_loss(logits, labels), ref)
    logits2 = logits.clone()
    logits2[0, 5] += 100.0  # an unmasked position cannot move the loss
    assert torch.allclose(m.mlm_loss(logits2, labels), ref)
    ds = [BaseDataElement(metainfo=dict(caption='a photo of the digit two'))]
    assert torch.isfinite(m(None, ds, 'loss')['loss_mlm'])
    # padding and specials are never chosen
    ids = m.encode_captions(['the number seven'])
    _, lab = m._masked(ids)
    assert (lab[0, 3:] == IGNORE).all() and (lab[0, :3] != IGNORE).sum() == 1


def test_labert_initialises_from_mlm_checkpoint(tmp_path):
    from tessera_multimodal.models import LaBERT
    torch.manual_seed(0)
    mlm = MaskedLanguageModel(tokenizer=dict(type='WordTokenizer', context_length=16),
                              encoder=dict(hidden_size=16, num_layers=1, num_heads=2, max_position=9))
    path = tmp_path / 'mlm.pth'
    torch.save({'state_dict': mlm.state_dict()}, path)
    lab = LaBERT(image_backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8,
                                     out_indices=(3,)),
                 tokenizer=dict(type='WordTokenizer', context_length=16),
                 bert=dict(hidden_size=16, num_layers=1, num_heads=2), init_bert=str(path))
    assert torch.equal(lab.bert.word_embeddings.weight, mlm.bert.word_embeddings.weight)
    assert torch.equal(lab.lm_head.dense.weight, mlm.lm_head.dense.weight)
    assert lab.lm_head.word_embeddings is lab.bert.word_embeddings  # tied after loading

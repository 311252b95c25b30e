"""ViT, sincos positions and random patch masking: shapes, exact counts, refusals of bad input."""
import math

import pytest
import torch

from tessera_generative.models.mim import (MAEViT, VisionTransformer, build_2d_sincos_position_embedding,
                                           check_mask_ratio, multi_fold_split, random_masking)
from tessera_generative.models.mim.vision_transformer import count_parameters


def test_sincos_matches_the_formula():
    d, gh, gw = 8, 3, 5
    pe = build_2d_sincos_position_embedding((gh, gw), d, cls_token=True)
    assert pe.shape == (1, 1 + gh * gw, d)
    assert torch.all(pe[0, 0] == 0)
    omega = [1.0 / 10000 ** (k / 2) for k in range(2)]  # d/4 = 2 frequencies
    for i in range(gh):
        for j in range(gw):
            want = ([math.sin(j * w) for w in omega] + [math.cos(j * w) for w in omega]
                    + [math.sin(i * w) for w in omega] + [math.cos(i * w) for w in omega])
            assert pe[0, 1 + i * gw + j].tolist() == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize('ratio,length,keep', [(0.75, 49, 12), (0.75, 64, 16), (0.5, 49, 24), (0.9, 196, 19)])
def test_random_masking_keeps_exact_count(ratio, length, keep):
    x = torch.randn(6, length, 4)
    g = torch.Generator().manual_seed(0)
    vis, mask, ids_restore, ids_shuffle = random_masking(x, ratio, g)
    assert vis.shape == (6, keep, 4)
    assert mask.sum(1).tolist() == [length - keep] * 6
    # the kept tokens are exactly the unmasked ones, in shuffle order
    for n in range(6):
        kept = ids_shuffle[n, :keep]
        assert torch.equal(vis[n], x[n, kept])
        assert torch.all(mask[n, kept] == 0) and torch.all(mask[n, ids_shuffle[n, keep:]] == 1)
        assert torch.equal(ids_shuffle[n][ids_restore[n]], torch.arange(length))
    assert not torch.equal(ids_shuffle[0], ids_shuffle[1])  # per-sample shuffles


@pytest.mark.parametrize('bad', [0, 0.0, 1, 1.0, -0.2, 1.5, 'x'])
def test_bad_mask_ratio_is_refused_with_value(bad):
    with pytest.raises(ValueError, match=f'mask_ratio.*{bad!r}' if isinstance(bad, str) else 'mask_ratio'):
        check_mask_ratio(bad)
    with pytest.raises(ValueError, match=str(bad)):
        MAEViT(arch='micro', img_size=28, patch_size=4, mask_ratio=bad)


def test_mask_ratio_that_keeps_nothing_is_refused():
    with pytest.raises(ValueError, match='keeps 0 of 4 patches'):
        MAEViT(arch='micro', img_size=8, patch_size=4, mask_ratio=0.8)


def test_patch_size_must_divide_image():
    with pytest.raises(ValueError, match=r'patch_size=5 does not divide img_size=28x28'):
        VisionTransformer(arch='micro', img_size=28, patch_size=5)
    with pytest.raises(ValueError, match=r'patch_size=3 does not divide img_size=32x30'):
        MAEViT(arch='micro', img_size=(32, 30), patch_size=3)


def test_unknown_arch_lists_choices():
    with pytest.raises(ValueError, match="unknown ViT arch 'huge'.*micro"):
        VisionTransformer(arch='huge')


@pytest.mark.parametrize('out_type,shape', [('cls_token', (2, 96)), ('avg_featmap', (2, 96)),
                                            ('featmap', (2, 96, 7, 7)), ('raw', (2, 50, 96))])
def test_vit_output_shapes(out_type, shape):
    vit = VisionTransformer(arch='micro', img_size=28, patch_size=4, out_type=out_type)
    vit.init_weights()
    out = vit(torch.randn(2, 1, 28, 28))
    assert isinstance(out, tuple) and out[0].shape == shape


def test_vit_parameter_count_is_exact():
    # patch conv 16*96+96, cls 96; per block: 2 LN (4*96), qkv 96*288+288, proj 96*96+96,
    # MLP 96*384+384 + 384*96+96; final LN 2*96
    per_block = 4 * 96 + (96 * 288 + 288) + (96 * 96 + 96) + (96 * 384 + 384) + (384 * 96 + 96)
    want = (16 * 96 + 96) + 96 + 6 * per_block + 2 * 96
    assert count_parameters(VisionTransformer(arch='micro', img_size=28, patch_size=4)) == want == 672960


def test_frozen_stages_freeze_everything_and_keep_eval():
    vit = VisionTransformer(arch='micro', img_size=28, patch_size=4, frozen_stages=6, drop_path_rate=0.5)
    vit.train()
    assert count_parameters(vit, trainable_only=True) == 0
    assert all(not m.training for m in vit.layers)
    x = torch.randn(3, 1, 28, 28)
    assert torch.equal(vit(x)[0], vit(x)[0])  # drop path off in frozen blocks
    part = VisionTransformer(arch='micro', img_size=28, patch_size=4, frozen_stages=2)
    trainable = {n.split('.')[0] + ('.' + n.split('.')[1] if n.startswith('layers') else '')
                 for n, p in part.named_parameters() if p.requires_grad}
    assert trainable == {'layers.2', 'layers.3', 'layers.4', 'layers.5', 'ln1'}


def test_mae_vit_encodes_visible_patches_only():
    vit = MAEViT(arch='micro', img_size=28, patch_size=4, mask_ratio=0.75)
    vit.init_weights()
    vit.eval()
    x = torch.randn(2, 1, 28, 28)
    latent, mask, ids_restore, ids_shuffle = vit(x, generator=torch.Generator().manual_seed(1))
    assert latent.shape == (2, 1 + 12, 96) and mask.shape == (2, 49)
    # changing a masked patch's pixels leaves the latent unchanged
    n_masked = int(ids_shuffle[0, 12])
    i, j = divmod(n_masked, 7)
    x2 = x.clone()
    x2[0, :, 4 * i:4 * i + 4, 4 * j:4 * j + 4] += 10
    latent2 = vit(x2, generator=torch.Generator().manual_seed(1))[0]
    assert torch.allclose(latent, latent2)
    assert vit(x, mask=False)[0].shape == (2, 50, 96)


def test_multi_fold_split_is_disjoint_and_covers():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 49, 2)
    _, mask, _, ids_shuffle = random_masking(x, 0.75, g)
    masked = ids_shuffle[:, 12:]  # 37 masked
    folds = multi_fold_split(masked, 3)
    assert folds.shape == (5, 3, 12)
    for n in range(5):
        sets = [set(f.tolist()) for f in folds[n]]
        assert all(len(s) == 12 for s in sets)
        assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
        union = sets[0] | sets[1] | sets[2]
        assert union == set(masked[n, :36].tolist())  # the chosen 36 of 37 (remainder dropped)
        assert all(mask[n, i] == 1 for i in union)
    folds = multi_fold_split(masked[:, :36], 3, num_masked_used=30)
    assert folds.shape == (5, 3, 10)
    with pytest.raises(ValueError, match='num_masked_used must be in'):
        multi_fold_split(masked, 3, num_masked_used=40)
    with pytest.raises(ValueError, match='num_folds'):
        multi_fold_split(masked, 0)

"""VisualGridEncoder: grid tokens in row-major order, 2-D positions, errors."""
import pytest
import torch
import torch.nn as nn

from tessera_multimodal.models.captioners import VisualGridEncoder, sincos_2d


class FixedMap(nn.Module):
    out_channels = (3,)

    def forward(self, x):  # (B, 3, 2, 3) with value = 10 * y + x in channel 0
        b = x.shape[0]
        ys, xs = torch.meshgrid(torch.arange(2.), torch.arange(3.), indexing='ij')
        m = torch.stack([10 * ys + xs, torch.zeros(2, 3), torch.ones(2, 3)])
        return (m.expand(b, 3, 2, 3),)


def test_row_major_tokens_and_positions():
    enc = VisualGridEncoder(FixedMap(), out_dim=8, pos='none', norm=False)
    with torch.no_grad():
        enc.proj.weight.zero_()
        enc.proj.weight[0, 0] = 1
        enc.proj.bias.zero_()
    out = enc(torch.zeros(2, 1, 4, 4))
    assert out.shape == (2, 6, 8)
    assert out[0, :, 0].tolist() == [0, 1, 2, 10, 11, 12]  # n = y * W + x
    enc.pos = 'sincos'
    pos = enc(torch.zeros(1, 1, 4, 4)) - out[:1]
    assert torch.allclose(pos[0], sincos_2d(2, 3, 8))
    p = sincos_2d(2, 3, 8)
    assert torch.allclose(p[0], torch.tensor([0., 0, 1, 1, 0, 0, 1, 1]))  # y = x = 0
    assert torch.allclose(p[1, :4], p[0, :4]) and not torch.allclose(p[1, 4:], p[0, 4:])  # same row, next column


def test_resnet_backbone_and_errors():
    enc = VisualGridEncoder(dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=16,
                                 out_indices=(3,)), out_dim=32, pos='learned', max_grid=4)
    assert enc.in_channels == 128 and enc(torch.randn(2, 1, 28, 28)).shape == (2, 16, 32)
    with pytest.raises(ValueError, match='exceeds max_grid=4'):
        enc(torch.randn(1, 1, 64, 64))
    with pytest.raises(ValueError, match="pos='grid' is not one of"):
        VisualGridEncoder(FixedMap(), out_dim=8, pos='grid')
    with pytest.raises(ValueError, match='divisible by 4'):
        VisualGridEncoder(FixedMap(), out_dim=6)

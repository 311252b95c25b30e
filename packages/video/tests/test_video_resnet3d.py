"""ResNet3d: exact parameter counts (hand-computed), the C3D / C2D temporal designs, the stage table options."""
import pytest
import torch
from torch import nn

import tessera_core.models  # noqa: F401
import tessera_video.models  # noqa: F401
from tessera_core.models.backbones import ResNet
from tessera_video.models import ResNet3d
from tessera_video.models.backbones.resnet3d import ARCHS, VARIANTS
from tessera_video.registry import MODELS


def count(m):
    return sum(p.numel() for p in m.parameters())


def test_resnet50_parameter_counts():
    # torchvision resnet50 has 25,557,032 parameters, its fc 2048 * 1000 + 1000 = 2,049,000: the backbone 23,508,032
    c2d = ResNet3d(depth=50, variant='c2d', in_channels=3)
    assert count(c2d) == 25_557_032 - 2_049_000 == 23_508_032
    assert count(c2d) == count(ResNet(depth=50, in_channels=3))  # 1x3x3 convs: exactly the 2D weights
    # C3D-style: each bottleneck's 3x3 conv becomes 3x3x3 (x3 weights) and the 7x7 stem 3x7x7.
    # 3x3 convs of the bottlenecks: 3 x 64*64*9 + 4 x 128*128*9 + 6 x 256*256*9 + 3 x 512*512*9 = 11,317,248
    conv3x3 = 3 * 64 * 64 * 9 + 4 * 128 * 128 * 9 + 6 * 256 * 256 * 9 + 3 * 512 * 512 * 9
    assert conv3x3 == 11_317_248
    stem = 64 * 3 * 7 * 7
    assert count(ResNet3d(depth=50, variant='c3d', in_channels=3)) == 23_508_032 + 2 * conv3x3 + 2 * stem == 46_161_344


def test_quarter_width_grey_resnet18_counts():
    # the configs' backbone: 16 base channels, 1 input channel.
    # 2D ResNet-18 at this width: stem 16*1*49 + 32 = 816; 3x3 convs (below) + BN + 1x1 shortcuts
    c2d, c3d = (ResNet3d(depth=18, variant=v, in_channels=1, base_channels=16) for v in ('c2d', 'c3d'))
    assert count(c2d) == count(ResNet(depth=18, in_channels=1, base_channels=16)) == 700_528
    conv3x3 = (4 * 16 * 16 * 9) + (16 * 32 * 9 + 3 * 32 * 32 * 9) + (32 * 64 * 9 + 3 * 64 * 64 * 9) \
        + (64 * 128 * 9 + 3 * 128 * 128 * 9)
    assert conv3x3 == 686_592
    assert count(c3d) == 700_528 + 2 * conv3x3 + 2 * 16 * 49 == 2_075_280  # + head 128 * 4 + 4 = 2,075,796
    kernels = {m.kernel_size for m in c3d.modules() if isinstance(m, nn.Conv3d)}
    assert kernels == {(3, 7, 7), (3, 3, 3), (1, 1, 1)}
    assert {m.kernel_size for m in c2d.modules() if isinstance(m, nn.Conv3d)} == {(1, 7, 7), (1, 3, 3), (1, 1, 1)}


def test_output_shapes_and_temporal_pooling():
    x = torch.randn(2, 1, 8, 64, 64)
    # stem conv /2 -> 32; max pool 1x3x3 / (1, 2, 2): padded (c3d) -> 16, unpadded as mmaction2's C2D -> 15;
    # C2D halves T after stage 1 (2x1x1 max pool of stride 2)
    expected = {'c3d': [(2, 8, 8, 16, 16), (2, 16, 8, 8, 8), (2, 32, 8, 4, 4), (2, 64, 8, 2, 2)],
                'c2d': [(2, 8, 4, 15, 15), (2, 16, 4, 8, 8), (2, 32, 4, 4, 4), (2, 64, 4, 2, 2)]}
    for variant, shapes in expected.items():
        m = ResNet3d(depth=18, variant=variant, in_channels=1, base_channels=8, out_indices=(0, 1, 2, 3)).eval()
        assert [tuple(o.shape) for o in m(x)] == shapes
        assert m.stage_channels == (8, 16, 32, 64) and m.out_channels == (8, 16, 32, 64)
    small = ResNet3d(depth=18, in_channels=1, base_channels=8, stem='small')
    assert small(torch.randn(1, 1, 4, 16, 16))[0].shape == (1, 64, 4, 2, 2)


def test_c2d_only_mixes_time_by_max_pooling_frame_pairs():
    # C2D sees each frame alone up to the 2x1x1 max pool over frames (0, 1), (2, 3), ...: swapping the frames
    # of a pair leaves its output unchanged; C3D's temporal kernels see the order.
    torch.manual_seed(0)
    x = torch.randn(2, 1, 8, 32, 32)
    swapped = x[:, :, [1, 0, 3, 2, 5, 4, 7, 6]]
    reversed_ = x.flip(2)
    for variant in ('c2d', 'c3d'):
        m = ResNet3d(depth=18, variant=variant, in_channels=1, base_channels=8, zero_init_residual=False).eval()
        with torch.no_grad():
            same = torch.allclose(m(x)[0], m(swapped)[0], atol=1e-5)
            flipped_c3d = m(reversed_)[0]
        assert same is (variant == 'c2d')
        if variant == 'c2d':  # reversing frames reverses the pooled time axis
            assert torch.allclose(flipped_c3d, m(x)[0].flip(2), atol=1e-5)


def test_per_block_inflation_and_bottleneck_styles():
    m = ResNet3d(depth=18, variant='c2d', in_channels=1, base_channels=8, inflate=((1, 0), 0, 0, 1))
    assert m.inflate == ((True, False), (False, False), (False, False), (True, True))
    assert m.stages[0][0].conv1.kernel_size == (3, 3, 3) and m.stages[0][1].conv1.kernel_size == (1, 3, 3)
    assert m.stages[3][1].conv2.kernel_size == (3, 3, 3)
    b = ResNet3d(depth=50, variant='c3d', inflate_style='3x1x1', base_channels=8).stages[0][0]
    assert (b.conv1.kernel_size, b.conv2.kernel_size) == ((3, 1, 1), (1, 3, 3))  # I3D-style
    b = ResNet3d(depth=50, variant='c3d', base_channels=8).stages[0][0]
    assert (b.conv1.kernel_size, b.conv2.kernel_size) == ((1, 1, 1), (3, 3, 3))  # C3D-style
    assert set(ARCHS) == {18, 34, 50} and set(VARIANTS) == {'c3d', 'c2d'}


def test_st_conv_cfg_reaches_only_the_inflated_convs():
    @MODELS.register_module(name='_TestMarkedConv3d', force=True)
    class Marked(nn.Conv3d):
        pass

    m = ResNet3d(depth=18, variant='c3d', in_channels=1, base_channels=8, st_conv_cfg=dict(type='_TestMarkedConv3d'),
                 inflate=(1, 0, 0, 0))
    marked = [n for n, x in m.named_modules() if isinstance(x, Marked)]
    assert marked == ['stages.0.0.conv1', 'stages.0.0.conv2', 'stages.0.1.conv1', 'stages.0.1.conv2']
    assert not isinstance(m.stem[0], Marked)


def test_zero_init_residual_and_errors():
    m = ResNet3d(depth=18, in_channels=1, base_channels=8)
    assert all(blk.bn2.weight.abs().sum() == 0 for s in m.stages for blk in s)
    with pytest.raises(ValueError, match=r"valid: \('c3d', 'c2d'\)"):
        ResNet3d(variant='i3d')
    with pytest.raises(KeyError, match=r'valid: \[18, 34, 50\]'):
        ResNet3d(depth=101)
    with pytest.raises(ValueError, match='stage 1 must be 0/1 or 2 0/1 flags'):
        ResNet3d(depth=18, inflate=(1, (1, 1, 1), 0, 0))
    with pytest.raises(ValueError, match=r'\(N, C, T, H, W\)'):
        m(torch.randn(1, 1, 32, 32))

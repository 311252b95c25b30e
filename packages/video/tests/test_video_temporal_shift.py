"""The temporal shift itself: exact values, zero padding, channel fractions, gradients, placement."""
import pytest
import torch
from torch import nn

from tessera_core.models import ResNet
from tessera_video.models import ResNetTSM, TemporalShift, make_temporal_shift, temporal_shift


def frames(n=2, t=4, c=16, h=2, w=3):
    return torch.arange(n * t * c * h * w, dtype=torch.float32).view(n * t, c, h, w)


def test_exact_shifted_values_and_zero_padding():
    n, t, c = 2, 4, 16
    x = frames(n, t, c)
    out = temporal_shift(x, num_segments=t, shift_div=8)
    assert out.shape == x.shape  # (N*T, C, H, W) preserved
    xv, ov = x.view(n, t, c, 2, 3), out.view(n, t, c, 2, 3)
    fold = c // 8  # 2 channels each way
    for b in range(n):
        for i in range(t):
            # channels [0, fold): frame i takes frame i + 1 ("shift left"), the last frame gets zeros
            expected_back = xv[b, i + 1, :fold] if i + 1 < t else torch.zeros_like(xv[b, i, :fold])
            assert torch.equal(ov[b, i, :fold], expected_back)
            # channels [fold, 2 fold): frame i takes frame i - 1, the first frame gets zeros
            expected_fwd = xv[b, i - 1, fold:2 * fold] if i > 0 else torch.zeros_like(xv[b, i, fold:2 * fold])
            assert torch.equal(ov[b, i, fold:2 * fold], expected_fwd)
            assert torch.equal(ov[b, i, 2 * fold:], xv[b, i, 2 * fold:])  # 3/4 of the channels stay


@pytest.mark.parametrize('c, shift_div, fold', [(16, 8, 2), (64, 8, 8), (10, 8, 1), (12, 4, 3), (7, 8, 0)])
def test_channel_fractions(c, shift_div, fold):
    t = 3
    x = torch.ones(t, c, 1, 1)  # one clip
    out = temporal_shift(x, t, shift_div).view(t, c)
    # zeros appear exactly in the shifted channels at the vacated ends
    assert torch.equal(out[-1, :fold], torch.zeros(fold)) and torch.equal(out[0, fold:2 * fold], torch.zeros(fold))
    changed = (out != 1).any(dim=0)
    assert int(changed.sum()) == 2 * fold
    assert torch.equal(changed.nonzero().flatten(), torch.arange(2 * fold))


def test_clips_do_not_leak_into_each_other():
    x = torch.zeros(2 * 3, 8, 1, 1)
    x[3:] = 1.0  # second clip all ones, first clip all zeros
    out = temporal_shift(x, 3, shift_div=4)
    assert out[:3].abs().sum() == 0  # nothing of clip 2 enters clip 1 (and vice versa except zero padding)
    assert out[3:].sum() == 8 * 3 - 2 * 2  # clip 2 loses exactly its two padded positions


def test_gradient_is_the_reverse_shift():
    t, c = 4, 8
    x = torch.randn(t, c, 1, 1, requires_grad=True)
    g = torch.randn(t, c, 1, 1)
    temporal_shift(x, t, shift_div=8).backward(g)
    fold = 1
    expected = g.clone()
    expected[:, :fold] = 0
    expected[1:, :fold] = g[:-1, :fold]  # value of frame i + 1 went to frame i
    expected[:, fold:2 * fold] = 0
    expected[:-1, fold:2 * fold] = g[1:, fold:2 * fold]
    assert torch.equal(x.grad, expected)


def test_shift_then_conv_mixes_exactly_the_neighbouring_frames():
    torch.manual_seed(0)
    t = 6
    module = TemporalShift(nn.Conv2d(8, 8, 1), num_segments=t, shift_div=8)
    x = torch.randn(t, 8, 2, 2)
    y = module(x)
    x2 = x.clone()
    x2[3] += 1.0
    changed = (module(x2) - y).abs().flatten(1).sum(1) > 0
    assert changed.tolist() == [False, False, True, True, True, False]  # frames 2, 3, 4 only


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match='num_segments=4'):
        temporal_shift(torch.zeros(6, 8, 1, 1), 4)
    with pytest.raises(ValueError, match=r'\(N\*T, C, H, W\)'):
        temporal_shift(torch.zeros(6, 8, 1), 3)


def test_residual_shift_placement_in_resnet18():
    net = ResNetTSM(num_segments=4, depth=18, in_channels=1, stem='small', base_channels=8)
    plain = ResNet(depth=18, in_channels=1, stem='small', base_channels=8)
    assert net.num_shifts == 8  # every BasicBlock's conv1
    for name in net.res_layers:
        for block in getattr(net, name):
            assert isinstance(block.conv1, TemporalShift) and isinstance(block.conv1.net, nn.Conv2d)
            assert not isinstance(block.downsample, TemporalShift)  # the identity path is not shifted
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in plain.parameters())
    x = torch.randn(2 * 4, 1, 16, 16)
    outs, plain_outs = net(x), plain(x)
    assert [o.shape for o in outs] == [o.shape for o in plain_outs]


def test_block_placement_and_every_second_block_for_resnet101():
    net = ResNetTSM(num_segments=2, shift_place='block', depth=18, in_channels=1, stem='small', base_channels=4)
    assert net.num_shifts == 8 and all(isinstance(b, TemporalShift) for b in net.layer1)
    deep = ResNet(depth=101, in_channels=1, stem='small', base_channels=2)
    # stages of 3, 4, 23, 3 blocks; a stage with >= 23 blocks shifts blocks 0, 2, 4, ... in every stage
    assert make_temporal_shift(deep, ('layer1', 'layer2', 'layer3', 'layer4'), 2) == 2 + 2 + 12 + 2
    with pytest.raises(ValueError, match="valid: \\('blockres', 'block'\\)"):
        ResNetTSM(shift_place='inplace', depth=18)


def test_gradient_flows_through_shifted_backbone():
    net = ResNetTSM(num_segments=4, depth=18, in_channels=1, stem='small', base_channels=4)
    x = torch.randn(4, 1, 8, 8, requires_grad=True)
    net(x)[-1].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)

"""HCN: the transpose moves joints to channels (global co-occurrence) and its ablation stays local; the motion stream
sees frame differences; multi-person max-out; exact parameter counts from the layer table; bad input."""
import numpy as np
import pytest
import torch
from mmengine.config import Config

import tessera_video
import tessera_video.datasets  # noqa: F401
import tessera_video.models  # noqa: F401
from tessera_video.models.backbones.hcn import HCN, HCN_LAYERS, frame_difference
from tessera_video.registry import MODELS, TRANSFORMS

CONFIGS = tessera_video.__path__[0] + '/configs/hcn/'
T, V, C = 32, 25, 3


def make(transpose=True, seed=0, **kw):
    torch.manual_seed(seed)
    net = HCN(clip_len=T, transpose=transpose, **kw)
    net.init_weights()
    return net.eval()


def skeletons(n=2, m=2, seed=0):
    return torch.randn(n, m, T, V, C, generator=torch.Generator().manual_seed(seed))


def as_nctv(x):  # (N, T, V, C) of one person -> (N, C, T, V)
    return x.permute(0, 3, 1, 2)


PERM = torch.randperm(V, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize('transpose', [True, False])
def test_point_level_features_are_per_joint(transpose):
    # conv1 (1x1) and conv2 (3x1) never mix joints: permuting the joints permutes their features, nothing else
    stream = make(transpose).stream_coord
    x = as_nctv(skeletons()[:, 0])
    with torch.no_grad():
        assert torch.allclose(stream.point_features(x[..., PERM]), stream.point_features(x)[..., PERM], atol=1e-6)


def test_transpose_makes_joints_the_channels_of_conv3():
    stream = make(True).stream_coord
    x = as_nctv(skeletons()[:, 0])
    with torch.no_grad():
        base = stream.cooccurrence_features(stream.point_features(x))
        permuted = stream.cooccurrence_features(stream.point_features(x[..., PERM]))
        # the co-occurrence features change under a joint permutation (not merely permuted: same shape, new values)
        assert (permuted - base).abs().max() > 1e-2
        assert base.shape == (2, 32, T // 2, 16)  # (N, 32, T/2, C'/2): no joint axis is left
        # ... and they are exactly those of a conv3 whose input channels are permuted the same way: joints = channels
        conv3 = stream.conv3[0]
        w = conv3.weight.clone()
        conv3.weight.copy_(w[:, PERM])  # input channel i now weighs joint PERM[i], which sits at channel i
        assert torch.allclose(stream.cooccurrence_features(stream.point_features(x[..., PERM])), base, atol=1e-5)
        conv3.weight.copy_(w)


def conv3_preactivation(stream, x):
    """conv3 output before its max pool: (N, 32, T, width)."""
    point = stream.point_features(x)
    if stream.transpose:
        point = point.permute(0, 3, 2, 1)
    return stream.conv3[0](point)


@pytest.mark.parametrize('transpose', [True, False])
def test_one_joint_reaches_every_conv3_output_only_with_the_transpose(transpose):
    stream = make(transpose).stream_coord
    x = as_nctv(skeletons()[:, 0])
    j = 12
    y = x.clone()
    y[..., j] += 1.0  # move one joint in every frame
    with torch.no_grad():
        changed = (conv3_preactivation(stream, y) - conv3_preactivation(stream, x)).abs().amax(dim=(0, 1, 2)) > 1e-6
    if transpose:
        assert changed.all()  # global: all 32 feature columns of every frame depend on joint 12
    else:
        assert changed.nonzero().flatten().tolist() == [j - 1, j, j + 1]  # local: a 3-joint neighbourhood


def test_without_transpose_a_joint_reversal_is_equivariant():
    # no transpose: conv3 is a conv over (T, V); reversing the joint order reverses its output (kernel flipped)
    stream = make(False).stream_coord
    x = as_nctv(skeletons()[:, 0])
    rev = torch.arange(V - 1, -1, -1)
    with torch.no_grad():
        base = conv3_preactivation(stream, x)
        conv3 = stream.conv3[0]
        w = conv3.weight.clone()
        conv3.weight.copy_(w.flip(-1))
        flipped = conv3_preactivation(stream, x[..., rev])
        conv3.weight.copy_(w)
    assert torch.allclose(flipped, base[..., rev], atol=1e-5)


def test_motion_stream_sees_frame_differences():
    t = torch.arange(T, dtype=torch.float32)
    x = torch.zeros(1, 1, T, V, C)
    x[..., 0] = (t ** 2)[:, None]  # x coordinate t^2: differences 2t - 1
    x[..., 1] = 5.0  # constant: no motion
    expected = torch.zeros(1, C, T, V)
    expected[:, 0, 1:] = (2 * t[1:] - 1)[:, None]
    assert torch.equal(frame_difference(as_nctv(x[:, 0])), expected)
    net = make()
    seen = {}
    net.stream_motion.register_forward_pre_hook(lambda mod, args: seen.setdefault('motion', args[0]))
    net.stream_coord.register_forward_pre_hook(lambda mod, args: seen.setdefault('coord', args[0]))
    with torch.no_grad():
        net(x)
    assert torch.equal(seen['motion'], expected) and torch.equal(seen['coord'], as_nctv(x[:, 0]))


def test_multi_person_max_out():
    net = make()
    x = skeletons(n=3, m=2)
    with torch.no_grad():
        per = net.person_features(x)
        alone = [net.person_features(x[:, i:i + 1])[:, 0] for i in range(2)]
        assert torch.allclose(per[:, 0], alone[0]) and torch.allclose(per[:, 1], alone[1])
        assert torch.allclose(net(x), net.fc7(torch.maximum(alone[0], alone[1])), atol=1e-6)
        # the order of the persons does not matter, and a duplicated person changes nothing
        assert torch.allclose(net(x.flip(1)), net(x), atol=1e-6)
        assert torch.allclose(net(torch.cat([x, x[:, :1]], dim=1)), net(x), atol=1e-6)


def conv_params(c_in, c_out, k):
    return c_in * c_out * k[0] * k[1] + c_out


def hand_count(transpose, clip_len=T, num_joints=V, num_classes=None):
    s = {layer.name: layer for layer in HCN_LAYERS}
    conv3_in = num_joints if transpose else s['conv2'].channels
    stream = (conv_params(C, 64, (1, 1)) + conv_params(64, 32, (3, 1)) + conv_params(conv3_in, 32, (3, 3))
              + conv_params(32, 64, (3, 3)))
    width = 32 if transpose else num_joints
    t = clip_len
    for _ in range(4):
        t, width = t // 2, width // 2
    fc7_in = 256 * t * width
    total = 2 * stream + conv_params(128, 128, (3, 3)) + conv_params(128, 256, (3, 3)) + fc7_in * 256 + 256
    return total + (256 * num_classes + num_classes if num_classes else 0)


def count(m):
    return sum(p.numel() for p in m.parameters())


def test_parameter_counts_from_the_layer_table():
    # streams 2 x (256 + 6,176 + 7,232 + 18,496), conv5 147,584, conv6 295,168, fc7 (256 x 2 x 2) x 256 + 256
    assert count(HCN(clip_len=32)) == hand_count(True) == 2 * 32_160 + 147_584 + 295_168 + 262_400 == 769_472
    # no transpose: conv3 has 32 input channels, the conv6 map is (2, 1)
    assert count(HCN(clip_len=32, transpose=False)) == hand_count(False) == (2 * 34_176 + 147_584 + 295_168
                                                                             + 131_328) == 642_432
    # the authors' institute's 64-frame NTU-60 model (skelact README: 1.047 M parameters with its 60-way fc)
    assert count(HCN(clip_len=64)) + 256 * 60 + 60 == hand_count(True, 64, num_classes=60) == 1_047_036


def test_configs_differ_only_in_the_transpose():
    full = Config.fromfile(CONFIGS + 'hcn_synthetic-skeletons-xsub.py')
    local = Config.fromfile(CONFIGS + 'hcn-local_synthetic-skeletons-xsub.py')
    assert full.model.backbone.transpose is True and local.model.backbone.transpose is False
    local.model.backbone.transpose = True
    assert local.model == full.model
    for key in ('train_dataloader', 'val_dataloader', 'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert full[key] == local[key], key
    assert count(MODELS.build(full.model)) == hand_count(True, num_classes=6)
    ntu = Config.fromfile(CONFIGS + 'hcn_ntu60-xsub.py')
    assert count(MODELS.build(ntu.model)) == hand_count(True, num_classes=60)


def test_recognizer_end_to_end_on_the_synthetic_set():
    cfg = Config.fromfile(CONFIGS + 'hcn_synthetic-skeletons-xsub.py')
    model = MODELS.build(cfg.model)
    model.init_weights()
    dataset = tessera_video.datasets.SyntheticSkeletonActions(split='xsub_val', num_subjects=5, num_train_subjects=4,
                                                              repetitions=1, num_persons=2,
                                                              pipeline=cfg.test_dataloader.dataset.pipeline)
    batch = [dataset[i] for i in range(4)]
    data = model.data_preprocessor(dict(inputs=[b['inputs'] for b in batch],
                                        data_samples=[b['data_samples'] for b in batch]))
    assert data['inputs'].shape == (4, 2, T, V, C)
    assert model(data['inputs'], mode='tensor').shape == (4, 1, 6)
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    losses['loss'].backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    preds = model(data['inputs'].unsqueeze(1).repeat(1, 2, 1, 1, 1, 1), data['data_samples'], mode='predict')
    assert len(preds) == 4 and preds[0].pred_score.shape == (6,)


def test_centralize_and_resize_transforms():
    kp = np.random.RandomState(0).randn(2, 40, V, C).astype(np.float32)
    kp[1] = 0  # absent second person
    out = TRANSFORMS.build(dict(type='PoseCentralize'))(dict(keypoint=kp.copy()))['keypoint']
    assert np.allclose(out[0, :, 1], 0) and np.allclose(out[0] + kp[0, :, 1:2], kp[0], atol=1e-6)
    assert np.all(out[1] == 0)
    lin = np.broadcast_to(np.arange(40, dtype=np.float32)[None, :, None, None], (1, 40, V, C)).copy()
    res = TRANSFORMS.build(dict(type='PoseResize', clip_len=20))(dict(keypoint=lin))
    # align_corners=False, factor 2: frame i of 20 samples position 2i + 0.5
    assert res['keypoint'].shape == (1, 20, V, C) and np.allclose(res['keypoint'][0, 1:-1, 0, 0],
                                                                   2 * np.arange(1, 19) + 0.5)
    crop = TRANSFORMS.build(dict(type='PoseCenterCrop', clip_ratio=0.5))(dict(keypoint=lin, total_frames=40))
    assert crop['frame_inds'].tolist() == list(range(10, 30)) and crop['keypoint'].shape[1] == 20


def test_wrong_joint_count_names_found_and_expected():
    net = make()
    with pytest.raises(ValueError, match=r'17 joints.*expected num_joints=25'):
        net(torch.zeros(1, 2, T, 17, C))
    with pytest.raises(ValueError, match=r'16 frames.*expected clip_len=32'):
        net(torch.zeros(1, 2, 16, V, C))
    with pytest.raises(ValueError, match=r'\(N, M, T, V, C\)'):
        net(torch.zeros(2, T, V, C))
    with pytest.raises(ValueError, match='rows'):
        HCN(layers=HCN_LAYERS[:-1])

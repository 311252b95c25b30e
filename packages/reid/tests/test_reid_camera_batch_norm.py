"""CBN: camera-wise batch statistics in training (brute-force reference), shared affine parameters, per-camera
running statistics and their re-estimation, eval with each image's own camera, unseen cameras, the converter and
the model's camera handling."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tessera_reid.models  # noqa: F401
from tessera_core.structures import ClsDataSample
from tessera_reid.engine.hooks import camera_batches, camera_mean_spread, estimate_camera_stats
from tessera_reid.models import CameraBatchNorm, camera_ids_context, camera_ids_of, convert_to_camera_bn
from tessera_reid.registry import MODELS


def cbn_forward(layer, x, camids):
    with camera_ids_context(nn.Sequential(layer), camids):
        return layer(x)


def test_train_output_equals_per_camera_batch_norm_with_shared_affine():
    torch.manual_seed(0)
    layer = CameraBatchNorm(3, num_cameras=4)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.5, 2.0, -1.0]))
        layer.bias.copy_(torch.tensor([0.1, -0.3, 2.0]))
    camids = torch.tensor([2, 0, 2, 1, 0, 0, 1, 2, 1, 0])
    x = torch.randn(10, 3, 4, 5) * torch.tensor([1.0, 3.0, 0.5]).view(1, 3, 1, 1) + camids.view(-1, 1, 1, 1) * 2.0
    out = cbn_forward(layer, x, camids)
    ref = torch.empty_like(x)
    for cam in (0, 1, 2):
        idx = camids == cam
        ref[idx] = F.batch_norm(x[idx], None, None, layer.weight, layer.bias, training=True, eps=layer.eps)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    # not the whole batch's statistics
    whole = F.batch_norm(x, None, None, layer.weight, layer.bias, training=True, eps=layer.eps)
    assert (out - whole).abs().max() > 0.5
    # one weight and bias for all cameras, and every camera's group reaches them
    assert [p.shape for p in layer.parameters()] == [torch.Size([3]), torch.Size([3])]
    (out * torch.randn_like(out)).sum().backward()
    assert layer.weight.grad.abs().min() > 0


def test_running_stats_per_camera_exact_and_cumulative():
    layer = CameraBatchNorm(2, num_cameras=3)
    x = torch.tensor([[1.0, 10.0], [3.0, 14.0], [5.0, -2.0], [7.0, 2.0], [9.0, 0.0]])
    camids = torch.tensor([0, 0, 2, 2, 2])
    cbn_forward(layer, x, camids)
    torch.testing.assert_close(layer.running_mean[0], torch.tensor([2.0, 12.0]))
    torch.testing.assert_close(layer.running_var[0], torch.tensor([2.0, 8.0]))        # unbiased
    torch.testing.assert_close(layer.running_mean[2], torch.tensor([7.0, 0.0]))
    torch.testing.assert_close(layer.running_var[2], torch.tensor([4.0, 4.0]))
    assert layer.num_batches_tracked.tolist() == [1, 0, 1] and layer.cameras_with_stats == [0, 2]
    # momentum=None: cumulative average over the groups seen
    cbn_forward(layer, torch.tensor([[5.0, 0.0], [7.0, 0.0]]), torch.tensor([0, 0]))
    torch.testing.assert_close(layer.running_mean[0], torch.tensor([4.0, 6.0]))
    torch.testing.assert_close(layer.running_var[0], torch.tensor([2.0, 4.0]))
    layer.reset_camera_stats()
    assert layer.cameras_with_stats == [] and torch.equal(layer.running_var, torch.ones(3, 2))


def test_eval_uses_each_images_own_camera_and_wrong_camera_differs():
    layer = CameraBatchNorm(2, num_cameras=2).eval()
    with torch.no_grad():
        layer.running_mean.copy_(torch.tensor([[0.0, 1.0], [5.0, -3.0]]))
        layer.running_var.copy_(torch.tensor([[1.0, 4.0], [9.0, 0.25]]))
        layer.num_batches_tracked.fill_(1)
        layer.weight.copy_(torch.tensor([2.0, 1.0]))
        layer.bias.copy_(torch.tensor([0.0, 1.0]))
    x = torch.tensor([[2.0, 3.0], [2.0, 3.0]])
    out = cbn_forward(layer, x, torch.tensor([0, 1]))
    eps = layer.eps
    expect = torch.tensor([[2 * 2.0 / (1 + eps) ** 0.5, 2.0 / (4 + eps) ** 0.5 + 1],
                           [2 * -3.0 / (9 + eps) ** 0.5, 6.0 / (0.25 + eps) ** 0.5 + 1]])
    torch.testing.assert_close(out, expect)
    assert not torch.allclose(out[0], out[1])          # same image, other camera's statistics: other output
    swapped = cbn_forward(layer, x, torch.tensor([1, 0]))
    torch.testing.assert_close(swapped, expect.flip(0))


def test_unseen_camera_error_and_average_fallback():
    layer = CameraBatchNorm(2, num_cameras=3)
    cbn_forward(layer, torch.tensor([[0.0, 0.0], [2.0, 4.0], [10.0, 10.0], [12.0, 14.0]]), torch.tensor([0, 0, 1, 1]))
    layer.eval()
    with pytest.raises(ValueError, match=r'camera\(s\) \[2\] have no CameraBatchNorm statistics.*\[0, 1\]'):
        cbn_forward(layer, torch.zeros(1, 2), torch.tensor([2]))
    with pytest.raises(ValueError, match=r'camera id 3 outside \[0, 3\)'):
        cbn_forward(layer, torch.zeros(1, 2), torch.tensor([3]))
    layer.unseen_camera = 'average'
    out = cbn_forward(layer, torch.tensor([[6.0, 7.0]]), torch.tensor([2]))
    mean, var = layer.running_mean[:2].mean(0), layer.running_var[:2].mean(0)
    torch.testing.assert_close(out[0], (torch.tensor([6.0, 7.0]) - mean) / torch.sqrt(var + layer.eps))
    with pytest.raises(ValueError, match='valid'):
        CameraBatchNorm(2, 3, unseen_camera='nearest')


def test_missing_camera_ids_and_singleton_group_are_clear_errors():
    layer = CameraBatchNorm(2, num_cameras=2)
    with pytest.raises(RuntimeError, match='camera_ids_context'):
        layer(torch.zeros(4, 2))
    with pytest.raises(ValueError, match='camera 1 has 1 value per channel'):
        cbn_forward(layer, torch.randn(3, 2), torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match='no "camid"'):
        camera_ids_of([ClsDataSample()])


def test_converter_replaces_every_batch_norm_and_keeps_parameters():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 9, 6),
                        nn.BatchNorm1d(6))
    with torch.no_grad():
        net[1].weight.uniform_(0.5, 1.5)
        net[1].running_mean.uniform_()
    net[5].bias.requires_grad_(False)
    w1, b5, rm = net[1].weight.detach().clone(), net[5].bias, net[1].running_mean.clone()
    convert_to_camera_bn(net, num_cameras=3)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())
    assert isinstance(net[1], CameraBatchNorm) and isinstance(net[5], CameraBatchNorm)
    assert torch.equal(net[1].weight, w1) and net[5].bias is b5 and not net[5].bias.requires_grad
    assert torch.equal(net[1].running_mean, rm[None].expand(3, 4)) and net[1].cameras_with_stats == []
    out = None
    with camera_ids_context(net, torch.tensor([0, 0, 1, 1, 2, 2])):
        out = net(torch.randn(6, 1, 5, 5))
    assert out.shape == (6, 6)


def small_model():
    model = MODELS.build(dict(type='CBNReIDModel', num_cameras=3,
                              backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=4),
                              head=dict(type='BNNeckHead', num_classes=3, in_channels=32)))
    model.init_weights()
    return model


def samples(labels, cams):
    out = []
    for y, c in zip(labels, cams):
        s = ClsDataSample().set_gt_label(int(y))
        s.set_metainfo(dict(camid=int(c)))
        out.append(s)
    return out


def test_model_converts_backbone_and_bnneck_and_drops_single_camera_samples():
    torch.manual_seed(0)
    model = small_model().train()
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    assert isinstance(model.head.bottleneck, CameraBatchNorm) and not model.head.bottleneck.bias.requires_grad
    x = torch.randn(7, 1, 12, 12)
    labels, cams = [0, 0, 1, 1, 2, 2, 0], [0, 1, 0, 1, 0, 1, 2]   # camera 2 has one image
    torch.manual_seed(1)
    loss_all = model(x, samples(labels, cams), mode='loss')
    torch.manual_seed(1)
    loss_six = model(x[:6], samples(labels[:6], cams[:6]), mode='loss')
    for key in ('loss_cls', 'loss_triplet'):
        torch.testing.assert_close(loss_all[key], loss_six[key])
    with pytest.raises(ValueError, match='camid'):
        model(x, None, mode='tensor')


class ToyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = CameraBatchNorm(2, num_cameras=3)

    def data_preprocessor(self, data, training):
        return data

    def forward(self, inputs, data_samples, mode):
        with camera_ids_context(self, camera_ids_of(data_samples)):
            return self.bn(inputs)


class ToySet:
    def __init__(self, feats, cams):
        self.feats, self.cams = feats, cams

    def __len__(self):
        return len(self.cams)

    def get_data_info(self, i):
        return dict(camid=self.cams[i])

    def __getitem__(self, i):
        return dict(inputs=self.feats[i], data_samples=samples([0], [self.cams[i]])[0])


def collate(items):
    return dict(inputs=torch.stack([d['inputs'] for d in items]), data_samples=[d['data_samples'] for d in items])


def test_estimation_gives_each_cameras_exact_statistics():
    g = torch.Generator().manual_seed(0)
    cams = [0] * 5 + [1] * 8 + [2] * 6
    offsets = torch.tensor([[0.0, 5.0], [-3.0, 1.0], [10.0, -10.0]])
    feats = torch.randn(19, 2, generator=g) * torch.tensor([1.0, 2.0]) + offsets[cams]
    model = ToyModel().eval()
    with torch.no_grad():   # stale statistics that the estimate must replace
        model.bn.running_mean.fill_(100.0)
        model.bn.num_batches_tracked.fill_(7)
    counts = estimate_camera_stats(model, ToySet(feats, cams), collate, num_per_camera=100, batch_size=64,
                                   flip=False)
    assert counts == {0: 5, 1: 8, 2: 6} and not model.training
    for cam in range(3):
        f = feats[torch.tensor(cams) == cam]
        torch.testing.assert_close(model.bn.running_mean[cam], f.mean(0))
        torch.testing.assert_close(model.bn.running_var[cam], f.var(0, unbiased=True))
    assert camera_mean_spread(model.bn) > 1.0


def test_camera_batches_sampling_and_drop_last():
    cams = [0] * 150 + [1] * 40 + [2] * 3
    batches = camera_batches(cams, num_per_camera=130, batch_size=64, seed=0)
    assert [c.size for c in batches[0]] == [64, 64]           # 130 drawn, incomplete last batch dropped
    assert [c.size for c in batches[1]] == [40]               # a camera's only batch is kept
    assert [c.size for c in batches[2]] == [3]
    assert all(cams[i] == 0 for c in batches[0] for i in c) and len({i for c in batches[0] for i in c}) == 128
    assert [c.tolist() for c in camera_batches(cams, 130, 64, seed=0)[0]] == [c.tolist() for c in batches[0]]
    with pytest.raises(ValueError, match='camera 1 has 1 image'):
        camera_batches([0, 0, 1], 10, 4)


def test_pooled_ablation_gives_every_camera_the_pooled_statistics():
    cams = [0] * 4 + [1] * 4
    feats = torch.tensor([[0.0, 0.0], [2.0, 2.0], [0.0, 2.0], [2.0, 0.0]] + [[10.0, 10.0], [12.0, 12.0],
                                                                                [10.0, 12.0], [12.0, 10.0]])
    model = ToyModel().eval()
    estimate_camera_stats(model, ToySet(feats, cams), collate, num_per_camera=100, batch_size=64, flip=False,
                          pool_cameras=True)
    # two batches (one per camera) averaged: the mean of the two camera means, the mean of the two variances
    for cam in range(3):
        torch.testing.assert_close(model.bn.running_mean[cam], torch.tensor([6.0, 6.0]))
        torch.testing.assert_close(model.bn.running_var[cam], torch.tensor([4.0 / 3, 4.0 / 3]))
    assert camera_mean_spread(model.bn) == 0.0

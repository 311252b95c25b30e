"""The digit segmentation task of the PSA configs: DigitSegMap / PackSegInputs targets, FPNSegHead
(shapes, plugins, loss and prediction against direct formulas), MeanIoU on a hand-counted example,
and the Segmentor's three forward modes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import tessera_core  # noqa: F401
from tessera_core.datasets.transforms import DigitSegMap, PackSegInputs, RandomShiftCrop
from tessera_core.evaluation import MeanIoU
from tessera_core.models.heads import FPNSegHead
from tessera_core.models.plugins import PolarizedSelfAttention
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample


def test_digit_seg_map_labels_ink_with_one_plus_the_class():
    img = np.array([[0, 127, 128], [255, 10, 200]], dtype=np.uint8)
    out = DigitSegMap(num_classes=10, threshold=128)(dict(img=img, gt_label=7))
    np.testing.assert_array_equal(out['gt_sem_seg'], [[0, 0, 8], [8, 0, 8]])
    assert out['gt_sem_seg'].dtype == np.int64
    packed = PackSegInputs()(out)
    assert packed['inputs'].shape == (1, 2, 3)
    assert torch.equal(packed['data_samples'].gt_sem_seg, torch.tensor([[0, 0, 8], [8, 0, 8]]))
    assert int(packed['data_samples'].gt_label) == 7


def test_seg_map_follows_the_shift_augmentation():
    np.random.seed(3)
    img = (np.random.rand(28, 28) * 255).astype(np.uint8)
    res = DigitSegMap()(RandomShiftCrop(padding=2)(dict(img=img.copy(), gt_label=2)))
    np.testing.assert_array_equal(res['gt_sem_seg'] > 0, res['img'] >= 128)


@pytest.mark.parametrize('kwargs, match', [(dict(num_classes=0), 'num_classes'), (dict(threshold=0), 'threshold'),
                                           (dict(threshold=300), 'threshold')])
def test_digit_seg_map_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DigitSegMap(**kwargs)


def test_digit_seg_map_bad_inputs():
    with pytest.raises(ValueError, match='gt_label 10'):
        DigitSegMap()(dict(img=np.zeros((4, 4), np.uint8), gt_label=10))
    with pytest.raises(ValueError, match='grey'):
        DigitSegMap()(dict(img=np.zeros((4, 4, 3), np.uint8), gt_label=1))


def _feats(n=2):
    return (torch.randn(n, 4, 8, 8), torch.randn(n, 6, 4, 4), torch.randn(n, 8, 2, 2))


def test_fpn_seg_head_shapes_plugins_loss_and_prediction():
    head = FPNSegHead(in_channels=[4, 6, 8], channels=6, num_classes=3, plugins=[dict(type='PSA')])
    assert isinstance(head.psa0, PolarizedSelfAttention) and head.psa0.in_channels == 6
    feats = _feats()
    logits = head(feats)
    assert logits.shape == (2, 3, 8, 8)
    samples = [ClsDataSample() for _ in range(2)]
    for s in samples:
        s.set_field(torch.randint(0, 3, (16, 16)), 'gt_sem_seg')  # a finer label map: logits are resized
    head.eval()
    logits = head(feats)
    up = F.interpolate(logits, size=(16, 16), mode='bilinear', align_corners=False)
    expected = F.cross_entropy(up, torch.stack([s.gt_sem_seg for s in samples]))
    torch.testing.assert_close(head.loss(feats, samples)['loss_ce'], expected)
    preds = head.predict(feats, samples)
    assert torch.equal(preds[1].pred_sem_seg, up[1].argmax(0))
    plain = FPNSegHead(in_channels=[4, 6, 8], channels=6, num_classes=3)
    extra = sum(p.numel() for p in head.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == PolarizedSelfAttention.num_parameters(6)
    with pytest.raises(ValueError, match='3 feature levels'):
        head(feats[:2])


def test_mean_iou_on_a_hand_counted_example():
    metric = MeanIoU(num_classes=3, background_index=0)
    gt = torch.tensor([[0, 0, 1, 1], [2, 2, 255, 0]])
    pred = torch.tensor([[0, 1, 1, 1], [2, 0, 2, 0]])
    metric.process(None, [dict(gt_sem_seg=gt, pred_sem_seg=pred)])
    res = metric.compute_metrics(metric.results)
    # class 0: I = 2 (pixels 0, 7), U = 4 (0, 1, 5, 7); class 1: I = 2, U = 3; class 2: I = 1, U = 2
    # pixel 6 is ignored; 5 of the 7 others are right
    assert res['mIoU'] == pytest.approx((2 / 4 + 2 / 3 + 1 / 2) / 3 * 100)
    assert res['mIoU_fg'] == pytest.approx((2 / 3 + 1 / 2) / 2 * 100)
    assert res['aAcc'] == pytest.approx(5 / 7 * 100)
    with pytest.raises(ValueError, match='num_classes'):
        MeanIoU(num_classes=1)
    with pytest.raises(ValueError, match='outside'):
        metric.process(None, [dict(gt_sem_seg=torch.tensor([3]), pred_sem_seg=torch.tensor([0]))])


def test_segmentor_forward_modes():
    model = MODELS.build(dict(
        type='Segmentor',
        backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=4, out_indices=(0, 1, 2, 3)),
        head=dict(type='FPNSegHead', in_channels=[4, 8, 16, 32], channels=8, num_classes=11,
                  plugins=[dict(type='PSA', layout='sequential')])))
    samples = [PackSegInputs()(DigitSegMap()(dict(img=(np.random.rand(16, 16) * 255).astype(np.uint8), gt_label=i)))
               for i in range(2)]
    data = model.data_preprocessor(dict(inputs=[s['inputs'] for s in samples],
                                        data_samples=[s['data_samples'] for s in samples]), True)
    losses = model(**data, mode='loss')
    losses['loss_ce'].backward()
    assert losses['loss_ce'].item() > 0 and model.head.psa0.ch_wz.weight.grad is not None
    model.eval()
    assert model(data['inputs'], mode='tensor').shape == (2, 11, 16, 16)
    preds = model(**data, mode='predict')
    assert preds[0].pred_sem_seg.shape == (16, 16) and int(preds[0].pred_sem_seg.max()) < 11
    with pytest.raises(ValueError, match="'loss', 'predict', 'tensor'"):
        model(data['inputs'], mode='logits')

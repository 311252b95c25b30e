"""DARTSNetwork: parameter counts of the papers, layout, auxiliary head, drop path, config use."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from tessera_core.structures import ClsDataSample
from torch import nn

from tessera_nas.engine import DropPathProbHook
from tessera_nas.genotypes import DARTS_V1, DARTS_V2, PC_DARTS, PDARTS, Genotype
from tessera_nas.models import AuxiliaryClsHead, Cell, DARTSNetwork, FactorizedReduce, ReLUConvBN, drop_path
from tessera_nas.registry import MODELS


@pytest.mark.parametrize('genotype,paper_millions,exact', [
    (DARTS_V2, 3.3, 3_349_342),   # DARTS Table 1 (second order)
    (PC_DARTS, 3.6, 3_634_678),   # PC-DARTS Table 1
    (PDARTS, 3.4, 3_433_798),     # P-DARTS Table 1
    (DARTS_V1, None, 3_169_414),  # first order: the paper's 3.3M is 4 % above what the genotype builds
])
def test_cifar10_networks_have_the_published_parameter_counts(genotype, paper_millions, exact):
    net = DARTSNetwork(genotype, 36, 20, auxiliary=True, num_classes=10)
    count = net.num_parameters()  # without the auxiliary head, as utils.count_parameters_in_MB
    assert count == exact
    if paper_millions is not None:
        assert abs(count / 1e6 - paper_millions) / paper_millions < 0.03
    aux = sum(p.numel() for n, p in net.named_parameters() if 'auxiliary' in n)
    assert net.num_parameters(exclude_auxiliary=False) == count + aux and aux > 0


def test_layout_reductions_channels_and_auxiliary_position():
    net = DARTSNetwork(DARTS_V2, 16, 8, auxiliary=True, num_classes=10, in_channels=1)
    assert net.reduction_layers == (2, 5) and net.aux_layer == 5
    assert [c.reduction for c in net.cells] == [False, False, True, False, False, True, False, False]
    assert net.stem[0].in_channels == 1 and net.stem[0].out_channels == 48
    assert isinstance(net.cells[3].preprocess0, FactorizedReduce)  # the cell after a reduction
    assert isinstance(net.cells[2].preprocess0, ReLUConvBN)
    assert net.aux_channels == 4 * 64 and net.out_channels == 4 * 64
    shapes = []
    net.cells[0].register_forward_hook(lambda m, i, o: shapes.append(o.shape))
    net.cells[2].register_forward_hook(lambda m, i, o: shapes.append(o.shape))
    net.cells[5].register_forward_hook(lambda m, i, o: shapes.append(o.shape))
    net.train()
    logits_aux, logits = net(torch.randn(3, 1, 32, 32))
    assert shapes == [(3, 64, 32, 32), (3, 128, 16, 16), (3, 256, 8, 8)]
    assert logits_aux.shape == logits.shape == (3, 10)
    net.eval()
    out = net(torch.randn(3, 1, 32, 32))
    assert len(out) == 1 and out[0].shape == (3, 10)


def test_feature_mode_and_argument_errors():
    net = DARTSNetwork('PDARTS', 8, 5, num_classes=None, in_channels=3)
    (feat,) = net(torch.randn(2, 3, 16, 16))
    assert feat.shape == (2, net.out_channels) and net.classifier is None
    with pytest.raises(ValueError, match=r'expects \(N, 3, H, W\) inputs, got \(2, 1, 16, 16\)'):
        net(torch.randn(2, 1, 16, 16))
    with pytest.raises(ValueError, match='auxiliary=True needs num_classes'):
        DARTSNetwork('PDARTS', 8, 5, auxiliary=True, num_classes=None)
    with pytest.raises(ValueError, match='drop_path_prob must lie in'):
        DARTSNetwork('PDARTS', 8, 5, drop_path_prob=1.0)
    with pytest.raises(KeyError, match='valid names'):
        DARTSNetwork('NASNet', 8, 5)
    aux_net = DARTSNetwork('DARTS_V2', 8, 5, auxiliary=True, in_channels=1).train()
    with pytest.raises(ValueError, match=r'expects 8x8 feature maps.*got \(7, 7\)'):
        aux_net(torch.randn(2, 1, 28, 28))


def test_drop_path_zeroes_or_rescales_whole_samples():
    x = torch.ones(4000, 2, 3, 3)
    y = drop_path(x, 0.3)
    per_sample = y.flatten(1)
    assert torch.all((per_sample == 0).all(1) | torch.isclose(per_sample, torch.tensor(1 / 0.7)).all(1))
    kept = (per_sample[:, 0] > 0).float().mean().item()
    assert abs(kept - 0.7) < 0.03
    assert torch.equal(drop_path(x, 0.0), x)


def test_drop_path_skips_identity_edges_and_is_off_in_eval():
    skip_only = Genotype(normal=[('skip_connect', 0), ('skip_connect', 1)] * 2, normal_concat=[2, 3],
                         reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)] * 2, reduce_concat=[2, 3])
    cell = Cell(skip_only, 4, 4, 4, reduction=False, reduction_prev=False).train()
    s0, s1 = torch.randn(8, 4, 6, 6), torch.randn(8, 4, 6, 6)
    assert torch.allclose(cell(s0, s1, 0.0), cell(s0, s1, 0.9))  # identity edges are never dropped
    sep = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], normal_concat=[2],
                   reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])
    cell = Cell(sep, 4, 4, 4, reduction=False, reduction_prev=False).train()
    torch.manual_seed(1)
    dropped = cell(s0, s1, 0.9)
    assert (dropped.flatten(1).abs().sum(1) == 0).any()  # both edges of some sample were dropped
    cell.eval()
    assert torch.equal(cell(s0, s1, 0.9), cell(s0, s1, 0.0))


def test_drop_path_prob_hook_follows_the_official_linear_schedule():
    net = DARTSNetwork('DARTS_V2', 4, 3, drop_path_prob=0.2)

    class Runner:
        model, epoch, max_epochs, iter, max_iters = nn.Sequential(net), 0, 4, 0, 100

    hook = DropPathProbHook()
    for epoch, expected in [(0, 0.0), (1, 0.05), (3, 0.15)]:
        Runner.epoch = epoch
        hook.before_train_epoch(Runner)
        assert net.drop_path_prob == pytest.approx(expected) and net.max_drop_path_prob == 0.2
    Runner.iter = 50
    DropPathProbHook(by_epoch=False).before_train_iter(Runner, 50)
    assert net.drop_path_prob == pytest.approx(0.1)
    Runner.model = nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match='no module with a max_drop_path_prob'):
        hook.before_train_epoch(Runner)


def test_auxiliary_head_adds_the_weighted_auxiliary_loss():
    head = AuxiliaryClsHead(aux_weight=0.4, loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0))
    logits, logits_aux = torch.randn(6, 10), torch.randn(6, 10)
    labels = torch.tensor([0, 1, 2, 3, 4, 5])
    samples = [ClsDataSample().set_gt_label(int(i)) for i in labels]
    losses = head.loss((logits_aux, logits), samples)
    assert torch.allclose(losses['loss'], F.cross_entropy(logits, labels))
    assert torch.allclose(losses['loss_aux'], 0.4 * F.cross_entropy(logits_aux, labels))
    assert set(head.loss((logits,), samples)) == {'loss', 'accuracy_top-1'}
    preds = head.predict((logits,))
    assert [int(p.pred_label) for p in preds] == logits.argmax(1).tolist()


def test_image_classifier_from_config_with_a_genotype_dict():
    cfg = dict(type='ImageClassifier',
               backbone=dict(type='DARTSNetwork', genotype=PC_DARTS.to_dict(), init_channels=4, layers=5,
                             auxiliary=True, num_classes=10, in_channels=1, drop_path_prob=0.2),
               head=dict(type='AuxiliaryClsHead', aux_weight=0.4))
    with DefaultScope.overwrite_default_scope('tessera_nas'):
        model = MODELS.build(cfg)
    assert model.backbone.genotype == PC_DARTS
    data = dict(inputs=[torch.randint(0, 255, (1, 32, 32), dtype=torch.uint8) for _ in range(4)],
                data_samples=[ClsDataSample().set_gt_label(i) for i in range(4)])
    model.train()
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert set(losses) == {'loss', 'loss_aux', 'accuracy_top-1'}
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert model.backbone.auxiliary_head.classifier.weight.grad is not None
    model.eval()
    preds = model(**model.data_preprocessor(data, False), mode='predict')
    assert len(preds) == 4 and preds[0].pred_score.shape == (10,)

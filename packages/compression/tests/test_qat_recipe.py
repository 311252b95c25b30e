"""The QAT recipe the N2UQ / LSQ Fashion-MNIST configs encode (official N2UQ resnet/train.py, scaled to batch
128): Adam (0.9, 0.999), lr 6.25e-4, weight decay 0, quantizer parameters at a tenth of the lr, linear decay to
0, start from the full-precision checkpoint; the bits and the layers kept in full precision of every config."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

import tessera_compression
from tessera_compression.models.layers import QuantConv2d
from tessera_compression.registry import MODELS

CONFIGS = osp.join(osp.dirname(tessera_compression.__file__), 'configs')
QAT = [(method, bits) for method in ('n2uq', 'lsq') for bits in (2, 3, 4)]
QUANTIZER_PARAMETERS = {'n2uq': 4, 'lsq': 2}  # per layer: (start, lengths, scale_in, scale_out) | (w step, a step)


def _config(method, bits):
    return Config.fromfile(osp.join(CONFIGS, method, f'{method}-w{bits}a{bits}_resnet18-w16_fashion-mnist.py'))


@pytest.mark.parametrize('method,bits', QAT)
def test_qat_optimizer_groups_and_schedule(method, bits):
    cfg = _config(method, bits)
    model = MODELS.build(cfg.model)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    assert type(optimizer).__name__ == 'Adam' and optimizer.defaults['betas'] == (0.9, 0.999)
    lrs = {}
    for group in optimizer.param_groups:
        assert group['weight_decay'] == 0.0
        for p in group['params']:
            lrs[id(p)] = group['lr']
    quantized = [m for m in model.modules() if isinstance(m, QuantConv2d)]
    assert len(quantized) == 19  # the residual stages' convs, downsample 1x1 convs included
    assert all((m.weight_bits, m.act_bits) == (bits, bits) for m in quantized)
    quantizer_params = {id(p) for m in quantized for q in (m.weight_quantizer, m.act_quantizer) for p in q.parameters()}
    assert len(quantizer_params) == 19 * QUANTIZER_PARAMETERS[method]
    for name, p in model.named_parameters():
        expected = 6.25e-5 if id(p) in quantizer_params else 6.25e-4
        assert lrs[id(p)] == pytest.approx(expected), name
    sched, = cfg.param_scheduler
    assert (sched['type'], sched['start_factor'], sched['end_factor']) == ('LinearLR', 1.0, 0.0)
    assert cfg.load_from == 'work_dirs/resnet18-w16_fp-pretrain_fashion-mnist/epoch_1.pth'
    kept = dict(model.model.named_modules())
    assert type(kept['backbone.stem.0']).__name__ == 'Conv2d' and type(kept['head.fc']).__name__ == 'Linear'

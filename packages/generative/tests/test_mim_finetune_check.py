"""The fine-tune config loads the pretrained encoder through the Runner, and benchmarks/mim_finetune.py's checks
see it (and would see a silently ignored init_cfg)."""
import importlib.util
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tessera_core.config import package_config_path
from tessera_generative.registry import MODELS

BENCH = Path(__file__).resolve().parents[1] / 'benchmarks' / 'mim_finetune.py'


def load_bench():
    spec = importlib.util.spec_from_file_location('mim_finetune', BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def pretrained_checkpoint(path):
    mae = MODELS.build(dict(
        type='MAE', backbone=dict(type='MAEViT', arch='micro', img_size=28, patch_size=4, mask_ratio=0.75),
        neck=dict(type='MAEPretrainDecoder', img_size=28, patch_size=4, in_chans=1, embed_dim=96,
                  decoder_embed_dim=32, decoder_depth=1, decoder_num_heads=4),
        head=dict(type='MAEPretrainHead', patch_size=4)))
    mae.init_weights()
    with torch.no_grad():  # move away from the deterministic parts of any fresh init
        for p in mae.backbone.parameters():
            p.add_(torch.randn_like(p))
    torch.save(dict(state_dict=mae.state_dict(), meta={}), path)
    return mae


def runner_encoder(cfg, work_dir):
    """The encoder right after the Runner's own init (what Runner.train runs before the first iteration)."""
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    runner._init_model_weights()
    return runner.model.backbone.state_dict()


def test_runner_loads_the_pretrained_encoder_bit_identically(tmp_path):
    bench = load_bench()
    pretrained_checkpoint(tmp_path / 'pre.pth')
    ckpt = bench.encoder_tensors(torch.load(tmp_path / 'pre.pth')['state_dict'], 'backbone.')
    cfg = Config.fromfile(package_config_path('tessera_generative', 'mae/vit-micro-p4_fine-tune_fashion-mnist.py'))
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'pre.pth')
    loaded = bench.compare_to_checkpoint(bench.encoder_tensors(runner_encoder(cfg, tmp_path / 'w')), ckpt)
    assert loaded['identical'] == loaded['total'] == loaded['model_total'] == 77
    assert loaded['max_abs_diff'] == 0 and loaded['missing'] == []

    cfg.model.backbone.init_cfg = None  # what an ignored init_cfg leaves: the fresh MAE init
    fresh = bench.compare_to_checkpoint(bench.encoder_tensors(runner_encoder(cfg, tmp_path / 'w2')), ckpt)
    assert fresh['identical'] == 0 and fresh['relative_distance'] > 0.5


def test_relative_distance_closed_form():
    bench = load_bench()
    ref = {'a': torch.tensor([3.0, 0.0]), 'b': torch.tensor([0.0, 4.0])}
    new = {'a': torch.tensor([3.0, 1.0]), 'b': torch.tensor([0.0, 4.0])}
    assert abs(bench.relative_distance(new, ref) - 1 / 5) < 1e-7
    assert abs(bench.relative_distance(new, ref, ['a']) - 1 / 3) < 1e-7
    assert bench.encoder_tensors({'x.pos_embed': torch.ones(1), 'x.w': torch.ones(1), 'y.w': torch.ones(1)},
                                 'x.').keys() == {'w'}

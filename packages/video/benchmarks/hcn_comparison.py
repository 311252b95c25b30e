"""HCN vs its no-transpose ablation on the synthetic skeleton actions: parameters, MACs, per-class accuracy.

``complexity`` prints the parameters and MACs (tessera-core's ``get_flops``: one multiply-add = 1) of the two
configs of ``configs/hcn/`` on one sample of 2 persons x 32 frames x 25 joints x 3 coordinates (backbone + head).

``per-class CONFIG CHECKPOINT`` evaluates a trained checkpoint on the config's test split and prints the top-1
accuracy per action, the confusion matrix, and (for HCN with the transpose) how conv3's weight is spread over its
input channels, the joints: the norm of each joint's slice of the weight, relative to the mean over joints (all
joints start alike in expectation, Xavier-uniform), so the joints the co-occurrence layer leans on stand out.

Usage::

    python packages/video/benchmarks/hcn_comparison.py complexity
    python packages/video/benchmarks/hcn_comparison.py per-class hcn_synthetic-skeletons-xsub.py \
        work_dirs/hcn/epoch_60.pth
"""
import argparse
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

import tessera_core  # noqa: F401  (safe checkpoint loading)
import tessera_video
import tessera_video.datasets  # noqa: F401
import tessera_video.models  # noqa: F401
from tessera_core.analysis.complexity import get_flops
from tessera_video.datasets.ntu_layout import NTU_JOINTS
from tessera_video.datasets.synthetic_skeletons import ACTIONS
from tessera_video.registry import DATASETS, MODELS

CONFIG_DIR = osp.join(osp.dirname(tessera_video.__file__), 'configs', 'hcn')
CONFIGS = ('hcn_synthetic-skeletons-xsub.py', 'hcn-local_synthetic-skeletons-xsub.py')


def build(config: str):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    return cfg, MODELS.build(cfg.model)


def complexity() -> None:
    print(f'{"config":42s} {"params":>10s} {"MACs (1 x 2 x 32 x 25 x 3)":>28s}')
    for config in CONFIGS:
        _, model = build(config)
        r = get_flops(model, (2, 32, 25, 3), forward_fn=lambda m, x: m(x, mode='tensor'))
        print(f'{config:42s} {r["params"]:>10,d} {r["flops"]:>28,d}')


def per_class(config: str, checkpoint: str, batch_size: int = 48) -> None:
    cfg, model = build(config)
    load_checkpoint(model, checkpoint, map_location='cpu')
    model.eval()
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    labels, preds = [], []
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
            data = model.data_preprocessor(dict(inputs=[it['inputs'] for it in items],
                                                data_samples=[it['data_samples'] for it in items]))
            for s in model(data['inputs'], data['data_samples'], mode='predict'):
                labels.append(int(s.gt_label)), preds.append(int(s.pred_label))
    labels, preds = np.array(labels), np.array(preds)
    k = len(ACTIONS)
    conf = np.zeros((k, k), dtype=int)
    np.add.at(conf, (labels, preds), 1)
    print(f'{config}  {checkpoint}')
    print(f'top-1 {100 * (labels == preds).mean():.1f} over {len(labels)} test samples')
    print('per class (true \\ predicted):')
    for i, name in enumerate(ACTIONS):
        acc = 100 * conf[i, i] / max(conf[i].sum(), 1)
        print(f'  {i} {name:28s} {acc:6.1f}   ' + ' '.join(f'{c:3d}' for c in conf[i]))
    backbone = model.backbone
    if backbone.transpose:
        for stream in ('stream_coord', 'stream_motion'):
            w = getattr(backbone, stream).conv3[0].weight.detach()  # (32, V, 3, 3): input channels = joints
            norms = w.transpose(0, 1).flatten(1).norm(dim=1)
            rel = (norms / norms.mean()).numpy()
            order = np.argsort(-rel)
            top = ', '.join(f'{NTU_JOINTS[j]} {rel[j]:.2f}' for j in order[:6])
            low = ', '.join(f'{NTU_JOINTS[j]} {rel[j]:.2f}' for j in order[-4:])
            print(f'{stream} conv3 weight norm per joint / mean: top {top}; lowest {low}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='cmd', required=True)
    sub.add_parser('complexity')
    p = sub.add_parser('per-class')
    p.add_argument('config')
    p.add_argument('checkpoint')
    args = parser.parse_args()
    init_default_scope('tessera_video')
    if args.cmd == 'complexity':
        complexity()
    else:
        per_class(args.config, args.checkpoint)


if __name__ == '__main__':
    main()

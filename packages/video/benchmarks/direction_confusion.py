"""TSM vs TSN on the moving-digits test split: top-1, axis accuracy and accuracy between opposite directions.

A per-frame model with average consensus (TSN) sees a clip as an unordered set of frames, so it can at best
tell the axis of motion (horizontal / vertical) and must guess between the two opposite directions of that
axis (50%). This script evaluates two trained checkpoints side by side and prints, for each:

- top-1 accuracy over the 4 directions;
- axis accuracy (prediction on the right axis);
- opposite-direction accuracy (correct among clips whose axis was predicted right).

Usage (after training both configs with mim):

    python packages/video/benchmarks/direction_confusion.py \
        --tsm work_dirs/tsm/epoch_2.pth --tsn work_dirs/tsn/epoch_2.pth
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
from tessera_video.registry import DATASETS, MODELS

CONFIG_DIR = osp.join(osp.dirname(tessera_video.__file__), 'configs', 'tsm')


def confusion(config: str, checkpoint: str, batch_size: int = 100) -> np.ndarray:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    model.eval()
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    k = len(dataset.metainfo['classes'])
    conf = np.zeros((k, k), dtype=np.int64)
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
            data = model.data_preprocessor(dict(inputs=[it['inputs'] for it in items],
                                                data_samples=[it['data_samples'] for it in items]))
            for item, pred in zip(items, model(data['inputs']).argmax(dim=1)):
                conf[int(item['data_samples'].gt_label), int(pred)] += 1
    return conf


def summary(conf: np.ndarray) -> dict:
    axis = np.arange(len(conf)) // 2  # DIRECTIONS pairs opposite directions: (right, left), (down, up), ...
    same_axis = axis[:, None] == axis[None, :]
    on_axis = conf[same_axis].sum()
    return dict(top1=100 * np.trace(conf) / conf.sum(), axis=100 * on_axis / conf.sum(),
                opposite=100 * np.trace(conf) / max(on_axis, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tsm', required=True, help='checkpoint of tsm_resnet18-w16_moving-digits.py')
    parser.add_argument('--tsn', required=True, help='checkpoint of tsn_resnet18-w16_moving-digits.py')
    args = parser.parse_args()
    init_default_scope('tessera_video')
    rows = []
    for name, ckpt in (('tsm', args.tsm), ('tsn', args.tsn)):
        conf = confusion(f'{name}_resnet18-w16_moving-digits.py', ckpt)
        print(f'{name} confusion (rows: true, columns: predicted)\n{conf}')
        rows.append((name, summary(conf)))
    print(f'{"model":6} {"top-1":>8} {"axis":>8} {"opposite":>9}')
    for name, s in rows:
        print(f'{name:6} {s["top1"]:8.2f} {s["axis"]:8.2f} {s["opposite"]:9.2f}')
    print(f'TSM / TSN top-1 ratio: {rows[0][1]["top1"] / rows[1][1]["top1"]:.2f}')


if __name__ == '__main__':
    main()

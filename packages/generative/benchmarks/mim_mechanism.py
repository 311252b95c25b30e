"""Mechanism evidence of MAE / SdAE pre-training checkpoints (configs/sdae/README.md).

For each checkpoint: the SdAE teacher-student distance and cosine (also for a fresh build of the same
config), and the spread of the encoder's tokens over 512 Fashion-MNIST test images (a collapsed encoder
has ~0 spread). Checkpoints load through tessera-core's safe loader (``--trust-checkpoint`` to opt out).

    python benchmarks/mim_mechanism.py CKPT [CKPT ...] [--fashion-root DIR] [--trust-checkpoint]
"""
import argparse
import os.path as osp

import torch

FASHION_ROOT = '/usr/share/datasets/fashion-mnist'
SDAE_CONFIG = 'sdae/sdae_vit-micro-p4_fashion-mnist.py'


def flat(state_dict: dict, prefix: str) -> torch.Tensor:
    """All parameters under ``prefix`` (fixed sincos positions left out) as one vector."""
    return torch.cat([v.flatten().float() for k, v in state_dict.items()
                      if k.startswith(prefix) and 'pos_embed' not in k])


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a, b, dim=0))


def relative_distance(student: torch.Tensor, teacher: torch.Tensor) -> float:
    return float((teacher - student).norm() / student.norm())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoints', nargs='+')
    parser.add_argument('--fashion-root', default=FASHION_ROOT)
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load without the allowlist (only for files you trust)')
    args = parser.parse_args(argv)

    import tessera_core  # noqa: F401  (tessera_core:: bases)
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from tessera_core.config import package_config_path
    from tessera_core.datasets.mnist_idx import read_idx
    from tessera_core.engine import safe_load
    import tessera_generative.models  # noqa: F401  (registers the models)
    from tessera_generative.registry import MODELS

    images = osp.join(args.fashion_root, 't10k-images-idx3-ubyte.gz')
    if not osp.isfile(images):
        raise FileNotFoundError(f'{images} does not exist (sudo apt-get install dataset-fashion-mnist, '
                                'or give --fashion-root)')
    pixels = torch.from_numpy(read_idx(images)[:512].copy()).float()
    x = ((pixels - 72.94) / 90.02)[:, None]  # the configs' Fashion-MNIST mean / std

    with DefaultScope.overwrite_default_scope('tessera_generative'):
        for path in args.checkpoints:
            state = safe_load(path, map_location='cpu', trusted=args.trust_checkpoint or None)['state_dict']
            print('==', path)
            if any(k.startswith('teacher.') for k in state):
                s, t = flat(state, 'backbone.'), flat(state, 'teacher.')
                print(f'teacher-student: cos {cosine(s, t):.4f}  |t-s|/|s| {relative_distance(s, t):.4f}')
                fresh = MODELS.build(Config.fromfile(package_config_path('tessera_generative', SDAE_CONFIG)).model)
                fresh.init_weights()
                s0, t0 = flat(fresh.state_dict(), 'backbone.'), flat(fresh.state_dict(), 'teacher.')
                print(f'  at init (fresh build): cos {cosine(s0, t0):.4f}  |t-s|/|s| {relative_distance(s0, t0):.4f}')
                print(f'  trained student vs a fresh init: cos {cosine(s, s0):.4f}')
            vit = MODELS.build(dict(type='VisionTransformer', arch='micro', img_size=28, patch_size=4,
                                    out_type='raw'))
            vit.load_state_dict({k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')})
            vit.eval()
            with torch.no_grad():
                tokens = vit(x)[0]
            cls, patches = tokens[:, 0], tokens[:, 1:]
            print(f'cls token std over images (mean over channels) {float(cls.std(0).mean()):.4f}; '
                  f'patch tokens std over patches {float(patches.std(1).mean()):.4f}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

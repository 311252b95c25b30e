"""Mechanism evidence of MAE / SdAE pre-training checkpoints (configs/sdae/README.md): teacher-student distance
and cosine (SdAE, against a fresh build of the same config), spread of the encoder features over 512 Fashion-MNIST
test images. Usage: python benchmarks/mim_mechanism.py CKPT [CKPT ...]"""
import sys

import torch
import tessera_core  # noqa
from mmengine.config import Config
from mmengine.registry import init_default_scope
init_default_scope('tessera_generative')
import tessera_generative.models  # noqa
from tessera_generative.registry import MODELS
from tessera_core.datasets.mnist_idx import read_idx

from tessera_core.config import package_config_path
imgs = torch.from_numpy(read_idx('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz')[:512].copy()).float()
x = ((imgs - 72.94) / 90.02)[:, None]

def flat(sd, prefix):
    return torch.cat([v.flatten().float() for k, v in sd.items() if k.startswith(prefix) and 'pos_embed' not in k])

def cos(a, b):
    return float(torch.nn.functional.cosine_similarity(a, b, dim=0))

for ck in sys.argv[1:]:
    sd = torch.load(ck, map_location='cpu', weights_only=False)['state_dict']
    print('==', ck)
    if any(k.startswith('teacher.') for k in sd):
        s, t = flat(sd, 'backbone.'), flat(sd, 'teacher.')
        print(f'teacher-student: cos {cos(s, t):.4f}  |t-s|/|s| {float((t - s).norm() / s.norm()):.4f}')
        cfg = Config.fromfile(package_config_path('tessera_generative', 'sdae/sdae_vit-micro-p4_fashion-mnist.py'))
        m = MODELS.build(cfg.model)
        m.init_weights()
        s0, t0 = flat(m.state_dict(), 'backbone.'), flat(m.state_dict(), 'teacher.')
        print(f'  at init (fresh build): cos {cos(s0, t0):.4f}  |t-s|/|s| {float((t0 - s0).norm() / s0.norm()):.4f}')
        print(f'  trained student vs a fresh init: cos {cos(s, s0):.4f}')
    vit = MODELS.build(dict(type='VisionTransformer', arch='micro', img_size=28, patch_size=4, out_type='raw'))
    vit.load_state_dict({k[9:]: v for k, v in sd.items() if k.startswith('backbone.')})
    vit.eval()
    with torch.no_grad():
        f = vit(x)[0]
    cls, patch = f[:, 0], f[:, 1:]
    print(f'cls token std over images (mean over channels) {float(cls.std(0).mean()):.4f}; '
          f'patch tokens std over patches {float(patch.std(1).mean()):.4f}')

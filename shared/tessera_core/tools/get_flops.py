"""Print parameters and MACs (mmengine.analysis) of a config's model."""
import argparse
import os

from mmengine.config import Config
from mmengine.registry import init_default_scope

import tessera_core  # noqa: F401
from tessera_core.analysis import get_flops
from tessera_core.registry import MODELS


def main():
    parser = argparse.ArgumentParser(description='Count parameters and MACs of a model')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs='+', default=[3, 224, 224], help='C H W')
    args = parser.parse_args()
    path = args.config
    if not os.path.isfile(path):  # `mim run tessera-core get_flops demo/x.py`: relative to the configs
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'configs', path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config not found: {args.config}')
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'tessera_core'))
    model = MODELS.build(cfg.model)
    result = get_flops(model, tuple(args.shape))
    print(f'input {tuple(args.shape)}: {result["params"] / 1e6:.3f} M params, '
          f'{result["flops"] / 1e6:.2f} M MACs')


if __name__ == '__main__':
    main()

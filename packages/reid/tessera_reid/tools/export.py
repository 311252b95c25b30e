"""Export a re-ID model's feature extractor to ONNX and check it against PyTorch:
``mim run tessera-reid export CONFIG CHECKPOINT --format onnx``.

tessera-core's export path (``tessera_core.tools.export``) with ``output='features'``: BatchNorms are folded,
the graph takes raw test images and returns the L2-normalised embeddings (N, C) that ``mode='predict'``
attaches as ``pred_feature``, and every feature ONNX Runtime computes on the config's test images must be
within ``--tolerance`` (1e-4) of PyTorch's. Camera-based BN models (``CBNReIDModel``) are refused: their
features depend on the camera id, which an image-only graph does not take. Exit status as tessera-core's
(0 passed, 1 failed, 2 not exportable).
"""
import os.path as osp
import sys

from mmengine.config import Config

import tessera_core  # noqa: F401  (installs the safe checkpoint loader)
from tessera_core.tools.export import main as core_export, parse_args, resolve_config

PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))
# models whose forward needs more than the image
IMAGE_ONLY_REFUSED = {'CBNReIDModel': 'camera-based BN normalises each camera with its own statistics: the '
                                      'camera id is an input the exported image -> feature graph does not take'}


def main(argv=None) -> int:
    args = parse_args(argv)
    model_type = Config.fromfile(resolve_config(args.config, PACKAGE)).model.get('type')
    if model_type in IMAGE_ONLY_REFUSED:
        print(f'error: cannot export {args.config} ({model_type}): {IMAGE_ONLY_REFUSED[model_type]}', file=sys.stderr)
        return 2
    return core_export(argv, package=PACKAGE, output='features')


if __name__ == '__main__':
    sys.exit(main())

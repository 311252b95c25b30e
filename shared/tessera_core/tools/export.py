"""Export a classifier to ONNX and check it: ``mim run tessera-core export CONFIG CHECKPOINT --format onnx``.

BatchNorms are folded (``switch_to_deploy()``), the inference path (raw image -> softmax
scores) is exported, and ONNX Runtime is checked against PyTorch on the config's real test
images (max |diff| <= --tolerance and identical top-1 on every image). Exit status: 0 when the
check passes, 1 when it fails, 2 when the model cannot be exported (the message names the layer),
the checkpoint does not fit the config's model, or onnx / onnxruntime are missing.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

import tessera_core  # noqa: F401  (installs the safe checkpoint loader)
from tessera_core.engine import safe_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a classifier to ONNX and check it against PyTorch')
    parser.add_argument('config', help='config file (or a path relative to tessera-core\'s configs)')
    parser.add_argument('checkpoint', help='checkpoint file (mmengine format)')
    parser.add_argument('--format', choices=['onnx'], default='onnx', help='export format')
    parser.add_argument('--out', help='output file (default: the checkpoint path with .onnx)')
    parser.add_argument('--shape', type=int, nargs=3, metavar=('C', 'H', 'W'),
                        help='input shape of the export (default: the test images\' shape)')
    parser.add_argument('--num-images', type=int, default=None,
                        help='check on the first N test images (default: the whole test set)')
    parser.add_argument('--opset', type=int, default=None, help='ONNX opset (default: 17)')
    parser.add_argument('--tolerance', type=float, default=1e-4, help='largest allowed |ORT - PyTorch| score')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load the checkpoint with full unpickling (only for files you trust)')
    return parser.parse_args(argv)


def resolve_config(path: str, package: str = None) -> str:
    """A config path as given, or inside an installed package (default tessera-core; ``mim run`` style):
    ``ghostnet/x.py`` relative to its configs, ``configs/ghostnet/x.py`` relative to the package."""
    package = package or osp.dirname(osp.dirname(osp.abspath(__file__)))
    candidates = [path, osp.join(package, 'configs', path), osp.join(package, path)]
    for candidate in candidates:
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(f'config not found: {path} (looked in: {", ".join(candidates)})')


def main(argv=None, package: str = None, output: str = 'scores') -> int:
    """The command; ``package`` (the folder of a task package) resolves its configs, ``output`` is
    ``'scores'`` (classifiers) or ``'features'`` (embedding models, e.g. ``mim run tessera-reid export``)."""
    args = parse_args(argv)
    from tessera_core.deploy import DEFAULT_OPSET, UnexportableLayerError, export_classifier
    cfg = Config.fromfile(resolve_config(args.config, package))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.trust_checkpoint or cfg.get('trust_checkpoint', False):
        safe_checkpoint.set_trusted(True)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    out = args.out or f'{osp.splitext(args.checkpoint)[0]}.onnx'
    try:
        report = export_classifier(cfg, args.checkpoint, out, shape=args.shape, num_images=args.num_images,
                                   opset=args.opset or DEFAULT_OPSET, tolerance=args.tolerance, output=output,
                                   log=lambda msg: print(msg, flush=True))
    except (UnexportableLayerError, ImportError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    verdict = 'PASSED' if report.passed else 'FAILED'
    print(f'check {verdict}: {report.comparison.summary()}')
    print(f'wrote {report.path} ({os.path.getsize(report.path) / 1e6:.2f} MB)')
    return 0 if report.passed else 1


if __name__ == '__main__':
    sys.exit(main())

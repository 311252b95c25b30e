"""The logic behind every Tessera package's ``tools/train.py`` and ``tools/test.py``.

Each package ships two thin scripts that call :func:`train_main` /
:func:`test_main` with its own scope, so that ``mim train tessera-<pkg> CONFIG``
and ``mim test tessera-<pkg> CONFIG --checkpoint CKPT`` behave alike in every
package. Flags follow mmdet 3.x: ``--work-dir``, ``--resume [CKPT]``,
``--cfg-options``, ``--launcher``, ``--local-rank``/``--local_rank``, plus
``--trust-checkpoint`` to load a checkpoint outside the safe allowlist.
"""
import argparse
import importlib
import os
import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from tessera_core.engine import safe_checkpoint


def _common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_iters=10')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load checkpoints with full unpickling (runs code stored in the file: '
                             'only for files you trust)')


def _load_config(path: str, args, scope: str) -> Config:
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.setdefault('default_scope', scope)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    if args.trust_checkpoint or cfg.get('trust_checkpoint', False):
        safe_checkpoint.set_trusted(True)
    _setup_distributed(cfg)
    return cfg


def _setup_distributed(cfg: Config) -> None:
    """On machines without CUDA, start torch.distributed with gloo ourselves
    (mmengine's pytorch launcher calls ``torch.cuda.set_device``) and wrap the
    model with :class:`DeviceAgnosticDDP`."""
    if cfg.launcher == 'none':
        return
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='tessera_core.DeviceAgnosticDDP')
    if cfg.launcher == 'pytorch' and not torch.cuda.is_available():
        import torch.distributed as dist
        if not dist.is_initialized():
            dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                    world_size=int(os.environ['WORLD_SIZE']))


def _import(modules: Sequence[str]) -> None:
    for name in modules:
        importlib.import_module(name)


def train_main(scope: str = 'tessera_core', imports: Sequence[str] = (),
               argv: Optional[Sequence[str]] = None) -> Runner:
    parser = argparse.ArgumentParser(description=f'Train a {scope} model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint of the work dir '
                             'when no path is given')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    _common_args(parser)
    args = parser.parse_args(argv)
    _import(['tessera_core', *imports])
    cfg = _load_config(args.config, args, scope)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def test_main(scope: str = 'tessera_core', imports: Sequence[str] = (),
              argv: Optional[Sequence[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=f'Test a {scope} model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the evaluated metrics to this json file')
    _common_args(parser)
    args = parser.parse_args(argv)
    _import(['tessera_core', *imports])
    cfg = _load_config(args.config, args, scope)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out and runner.rank == 0:
        import json
        with open(args.out, 'w') as f:
            json.dump(metrics, f, indent=2)
    return metrics

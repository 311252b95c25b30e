"""Train the feature network of the generative metrics and save its weights.

    mim run tessera-generative train_feature_net feature_nets/featnet-w32_embedded-digits.py [--out PATH]

(or ``python tessera_generative/tools/train_feature_net.py CONFIG``). Trains ``CONFIG`` with mmengine's
Runner, evaluates it on its val set, and writes ``{'meta': {config, metrics}, 'state_dict'}`` atomically to
``--out``, by default where ``TrainedFeatureExtractor`` looks for it (``default_checkpoint``: the cache dir,
``<config name>_<config hash>.pth``); the metric loads it with mmengine's ``load_checkpoint``.
"""
import argparse
import os
import os.path as osp
import tempfile

import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('--out', default=None, help='checkpoint to write (default: the metrics\' cache path)')
    p.add_argument('--work-dir', default=None, help='runner work dir (default: a temporary folder)')
    p.add_argument('--cfg-options', nargs='+', default=[], help='key=value overrides, as in mim train')
    return p.parse_args(argv)


def train_feature_net(config: str, out=None, work_dir=None, cfg_options=()) -> dict:
    import tessera_core  # noqa: F401  (tessera_core:: bases, safe checkpoints)
    import tessera_generative.engine  # noqa: F401
    import tessera_generative.evaluation  # noqa: F401
    import tessera_generative.models  # noqa: F401
    from mmengine.config import Config, DictAction
    from mmengine.runner import Runner

    from tessera_generative.evaluation.feature_extractor import resolve_config
    from tessera_generative.evaluation.feature_extractor import default_checkpoint
    config = resolve_config(config)
    if out is None:
        if cfg_options:
            raise ValueError('with --cfg-options the network is not the one CONFIG describes: give --out')
        out = default_checkpoint(config)
    cfg = Config.fromfile(config)
    if cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o', *cfg_options]).o)
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix='featnet_')
        work_dir = tmp.name
    cfg.work_dir = work_dir
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10 ** 9, save_last=False)
    cfg.train_cfg.val_interval = 10 ** 9  # evaluated once, below
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run() if runner.val_loop is not None else {}
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    meta = dict(config=osp.abspath(config), metrics={k: float(v) for k, v in metrics.items()})
    os.makedirs(osp.dirname(osp.abspath(out)) or '.', exist_ok=True)
    fd, part = tempfile.mkstemp(dir=osp.dirname(osp.abspath(out)), suffix='.part')
    os.close(fd)
    torch.save(dict(meta=meta, state_dict=state), part)
    os.replace(part, out)
    if tmp is not None:
        tmp.cleanup()
    print(f'feature network saved to {out}; val metrics: {meta["metrics"]}')
    return meta


if __name__ == '__main__':
    args = parse_args()
    train_feature_net(args.config, args.out, args.work_dir, args.cfg_options)

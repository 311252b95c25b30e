"""Fine-tune a 'micro' ViT with the fine-tune config and check that the encoder could act (configs/mae/README.md).

Runs exactly what ``tools/train.py CONFIG --work-dir W --cfg-options ...`` runs (the same config, the same
Runner, the same seed), with one read-only hook added that

- right after the Runner's ``init_weights`` (``before_train``) compares every encoder tensor with the
  pre-training checkpoint's ``backbone.*`` tensor: the count of bit-identical tensors, the largest absolute
  difference and the checkpoint keys the encoder has no tensor for (a silently ignored ``init_cfg`` shows up
  as 0 identical tensors); without a checkpoint (``--init random``) it reports the distance from the
  checkpoint given with ``--compare`` instead, which must not be 0;
- at the end (``after_train``) prints the relative distance ``|theta_end - theta_0| / |theta_0|`` of the
  encoder from its weights at the start of fine-tuning, over all its parameters (fixed sincos positions left
  out) and per block.

The hook reads the weights only (no random numbers drawn), so accuracy equals the plain ``tools/train.py`` run.

    python benchmarks/mim_finetune.py --init CKPT|random [--compare CKPT] --work-dir W [--seed S]
        [--config tessera_generative/configs/mae/vit-micro-p4_fine-tune_fashion-mnist.py] [--cfg-options ...]
"""
import argparse
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.config import DictAction

CONFIG = osp.join(osp.dirname(__file__), '..', 'tessera_generative', 'configs', 'mae',
                  'vit-micro-p4_fine-tune_fashion-mnist.py')


def encoder_tensors(state: Dict[str, torch.Tensor], prefix: str = '') -> Dict[str, torch.Tensor]:
    """Encoder parameters under ``prefix`` (prefix stripped), the fixed sincos positions left out."""
    return {k[len(prefix):]: v.detach().clone().float() for k, v in state.items()
            if k.startswith(prefix) and 'pos_embed' not in k}


def relative_distance(new: Dict[str, torch.Tensor], ref: Dict[str, torch.Tensor], keys=None) -> float:
    keys = sorted(ref) if keys is None else keys
    num = sum(float((new[k] - ref[k]).pow(2).sum()) for k in keys)
    den = sum(float(ref[k].pow(2).sum()) for k in keys)
    return (num / den) ** 0.5


def compare_to_checkpoint(model_enc: Dict[str, torch.Tensor], ckpt_enc: Dict[str, torch.Tensor]) -> dict:
    """How many checkpoint tensors the encoder holds bit-identically; the largest difference; missing keys."""
    missing = sorted(k for k in ckpt_enc if k not in model_enc)
    shared = [k for k in ckpt_enc if k in model_enc and model_enc[k].shape == ckpt_enc[k].shape]
    identical = sum(torch.equal(model_enc[k], ckpt_enc[k]) for k in shared)
    max_diff = max((float((model_enc[k] - ckpt_enc[k]).abs().max()) for k in shared), default=float('nan'))
    return dict(identical=identical, total=len(ckpt_enc), model_total=len(model_enc), max_abs_diff=max_diff,
                missing=missing, relative_distance=relative_distance(model_enc, ckpt_enc, shared) if shared
                else float('nan'))


def make_hook(reference: Optional[str], compare: Optional[str]):
    from mmengine.hooks import Hook
    from mmengine.logging import print_log
    from tessera_core.engine import safe_load

    def load_encoder(path):
        return encoder_tensors(safe_load(path, map_location='cpu')['state_dict'], 'backbone.')

    class FineTuneCheckHook(Hook):
        priority = 'VERY_LOW'

        def before_train(self, runner) -> None:
            enc = runner.model.backbone.state_dict()
            self.start = encoder_tensors(enc)
            if reference is not None:
                r = compare_to_checkpoint(self.start, load_encoder(reference))
                print_log(f'[finetune-check] after init_weights vs {reference}: {r["identical"]}/{r["total"]} '
                          f'checkpoint tensors bit-identical in the encoder ({r["model_total"]} encoder '
                          f'tensors), max |diff| {r["max_abs_diff"]:.3g}, missing {r["missing"]}', 'current')
            if compare is not None:
                r = compare_to_checkpoint(self.start, load_encoder(compare))
                print_log(f'[finetune-check] after init_weights vs {compare} (must differ): '
                          f'{r["identical"]}/{r["total"]} identical, |theta_0 - ckpt| / |ckpt| '
                          f'{r["relative_distance"]:.4f}', 'current')

        def after_train(self, runner) -> None:
            end = encoder_tensors(runner.model.backbone.state_dict())
            keys = sorted(self.start)
            total = relative_distance(end, self.start, keys)
            per = []
            for name in ['patch_embed', 'cls_token'] + [f'layers.{i}.' for i in range(
                    len(runner.model.backbone.layers))] + ['ln1']:
                ks = [k for k in keys if k.startswith(name)]
                per.append(f'{name.rstrip(".")} {relative_distance(end, self.start, ks):.4f}')
            print_log(f'[finetune-check] encoder moved |theta_end - theta_0| / |theta_0| = {total:.4f}; '
                      + ', '.join(per), 'current')

    return FineTuneCheckHook()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--init', required=True, help='pre-training checkpoint (backbone.*) or "random"')
    parser.add_argument('--compare', help='with --init random: a checkpoint the random init must differ from')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='as for tools/train.py')
    args = parser.parse_args(argv)
    if args.init != 'random' and not osp.isfile(args.init):
        raise FileNotFoundError(f'--init {args.init}: no such checkpoint')

    import tessera_core  # noqa: F401  (tessera_core:: bases)
    import tessera_generative.datasets  # noqa: F401
    import tessera_generative.engine  # noqa: F401
    import tessera_generative.evaluation  # noqa: F401
    import tessera_generative.models  # noqa: F401
    from mmengine.config import Config
    from mmengine.runner import Runner

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.setdefault('default_scope', 'tessera_generative')
    cfg.launcher = 'none'
    cfg.work_dir = args.work_dir
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    if args.init == 'random':
        cfg.model.backbone.init_cfg = None
    else:
        cfg.model.backbone.init_cfg.checkpoint = args.init
    runner = Runner.from_cfg(cfg)
    runner.register_hook(make_hook(None if args.init == 'random' else args.init, args.compare))
    runner.train()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())

"""How far a search moved its architecture weights away from uniform.

A derived genotype is only as meaningful as the architecture weights it is read from: after a short
search the softmax over the operations of an edge can still be close to uniform, and then the
top-2 / argmax derivation picks nearly at random. For each search checkpoint this prints, per cell
type, over the 14 edges:

- the normalised entropy ``H(softmax(alpha_e)) / log(n_ops)`` (1 = uniform, 0 = one-hot), mean and min;
- the largest operation weight, mean and max, next to the uniform weight ``1 / n_ops``;
- the margin between the two largest weights, mean.

The checkpoint is read with tessera-core's safe loader (no code runs from it).

Usage::

    python packages/nas/benchmarks/architecture_weights.py work_dirs/darts-search/epoch_3.pth \\
        work_dirs/pc-darts-search/epoch_10.pth
"""
import argparse
import math

import torch

from tessera_core.engine.safe_checkpoint import safe_load


def summarise_alphas(alphas: torch.Tensor) -> dict:
    """Statistics of the per-edge softmax of alphas (E, n_ops)."""
    weights = alphas.float().softmax(dim=-1)
    n_ops = weights.shape[-1]
    entropy = -(weights * weights.clamp_min(1e-12).log()).sum(-1) / math.log(n_ops)
    top2 = weights.topk(2, dim=-1).values
    return dict(n_ops=n_ops, entropy_mean=entropy.mean().item(), entropy_min=entropy.min().item(),
                max_weight_mean=top2[:, 0].mean().item(), max_weight_max=top2[:, 0].max().item(),
                margin_mean=(top2[:, 0] - top2[:, 1]).mean().item())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoints', nargs='+', help='search checkpoints (epoch_N.pth of a search work dir)')
    args = parser.parse_args()
    print('| checkpoint | cell | ops per edge | uniform weight | largest weight, mean (max) | '
          'top-1 minus top-2, mean | normalised entropy, mean (min) |')
    print('|---|---|---|---|---|---|---|')
    for path in args.checkpoints:
        state = safe_load(path, map_location='cpu')['state_dict']
        for cell in ('normal', 'reduce'):
            key = f'backbone.alphas_{cell}'
            if key not in state:
                raise KeyError(f'{path}: no {key!r} in the state dict; is this a DARTS search checkpoint? '
                               f'Architecture keys found: {[k for k in state if "alpha" in k]}')
            s = summarise_alphas(state[key])
            print(f'| {path} | {cell} | {s["n_ops"]} | {1 / s["n_ops"]:.3f} | {s["max_weight_mean"]:.3f} '
                  f'({s["max_weight_max"]:.3f}) | {s["margin_mean"]:.3f} | {s["entropy_mean"]:.4f} '
                  f'({s["entropy_min"]:.4f}) |')


if __name__ == '__main__':
    main()

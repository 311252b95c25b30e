"""MAL mechanism evidence: training-log curves and the depression's effect on trained models.

1. ``--logs``: from the ``mim train`` logs of MAL runs, the logged bag size ``k_t``, depression ratio, share
   of objects whose selected anchor is not the max-IoU anchor, share of selected anchors inside a depressed
   cell and the selected anchor's joint confidence ``Psi`` at a few iterations.
2. ``--checkpoints``: for trained MAL-head checkpoints, on the val canvases (ground truth known), per object:
   ``max Psi`` over its bag, the number of bag anchors with ``Psi >= 0.5`` ("how many anchors learned the
   object"), and what the depression at ratio 0.5 does: ``max Psi`` afterwards, and how often the argmax
   moves to another anchor.

Usage (from the repository root)::

    python packages/detection/benchmarks/mal_mechanism.py --logs work_dirs/mal_s0/*/*.log
    python packages/detection/benchmarks/mal_mechanism.py --config CONFIG --checkpoints A.pth B.pth
"""
import argparse

import torch

from _checkpoint_model import load_detector, val_with_ground_truth
from _train_logs import print_log_table

KEYS = ('mal_bag_k', 'mal_depress_ratio', 'mal_sel_not_maxiou', 'mal_sel_depressed', 'mal_sel_conf')


@torch.no_grad()
def depression_effect(config: str, checkpoint: str, ratio: float = 0.5, thr: float = 0.5) -> dict:
    from tessera_detection.models.dense_heads.mal_retina_head import build_anchor_bags
    from tessera_detection.models.layers import depress_features

    cfg, model = load_detector(config, checkpoint)
    head = model.bbox_head
    dataset = val_with_ground_truth(cfg)
    rows = {'max_psi': [], 'max_psi_depressed': [], 'n_confident': [], 'n_confident_depressed': [],
            'argmax_moved': [], 'sel_not_maxiou': []}
    for i in range(0, len(dataset), 16):
        batch = [dataset[j] for j in range(i, min(i + 16, len(dataset)))]
        data = model.data_preprocessor({'inputs': [b['inputs'] for b in batch],
                                        'data_samples': [b['data_samples'] for b in batch]}, training=False)
        feats = model.extract_feat(data['inputs'])
        dep, _ = depress_features(feats, ratio, head.depression_kept_share)
        out = []
        for x in (feats, dep):
            cls, reg = head(tuple(x))
            sizes = [c.shape[-2:] for c in cls]
            anchors = torch.cat(head.prior_generator.grid_priors(sizes, device='cpu'))
            a = head.num_base_priors
            cls = torch.cat([c.permute(0, 2, 3, 1).reshape(c.size(0), -1, head.cls_out_channels) for c in cls], 1)
            reg = torch.cat([r.permute(0, 2, 3, 1).reshape(r.size(0), -1, 4) for r in reg], 1)
            psis = []
            for b, ds in enumerate(data['data_samples']):
                gt = ds.gt_instances
                bags, _ = build_anchor_bags(gt.bboxes, anchors, head.bag_size)
                pc, pl = head.bag_confidences(cls[b].sigmoid(), reg[b], anchors, gt, bags)
                psis.append(pc * pl)
            out.append(torch.cat(psis))
            del a
        psi, psi_dep = out
        rows['max_psi'].append(psi.max(1).values)
        rows['max_psi_depressed'].append(psi_dep.max(1).values)
        rows['n_confident'].append((psi >= thr).sum(1).float())
        rows['n_confident_depressed'].append((psi_dep >= thr).sum(1).float())
        rows['argmax_moved'].append((psi.argmax(1) != psi_dep.argmax(1)).float())
        rows['sel_not_maxiou'].append((psi.argmax(1) != 0).float())
    return {k: torch.cat(v).mean().item() for k, v in rows.items()} | {'objects': len(torch.cat(rows['max_psi']))}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--logs', nargs='*', default=[])
    p.add_argument('--config')
    p.add_argument('--checkpoints', nargs='*', default=[])
    p.add_argument('--ratio', type=float, default=0.5)
    args = p.parse_args()
    for log in args.logs:
        print_log_table(log, KEYS)
    if args.checkpoints:
        if not args.config:
            p.error('--checkpoints needs --config (a MALRetinaHead config)')
        print('| checkpoint | objects | mean max Psi | max Psi, depressed | anchors Psi>=0.5 | same, depressed '
              '| argmax moved | selected != max-IoU |')
        print('|---|---|---|---|---|---|---|---|')
        for ck in args.checkpoints:
            r = depression_effect(args.config, ck, args.ratio)
            print(f"| {ck} | {r['objects']} | {r['max_psi']:.3f} | {r['max_psi_depressed']:.3f} | "
                  f"{r['n_confident']:.2f} | {r['n_confident_depressed']:.2f} | {r['argmax_moved']:.3f} | "
                  f"{r['sel_not_maxiou']:.3f} |")


if __name__ == '__main__':
    main()

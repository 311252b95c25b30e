"""CPN mechanism evidence: training-log curves, and what the binary classifier rejects on the val canvases.

1. ``--logs``: from ``mim train`` logs of CPN runs, the logged proposals per image, share of positive
   proposals, share of proposals the binary classifier rejects (``s_b < tau``) and the two classifier losses,
   every 100 iterations (window means of the logger).
2. ``--config`` + ``--checkpoints``: on the val canvases (ground truth known), per trained model: proposals per
   image; the share rejected; proposals split into true (IoU >= 0.7 with a ground truth, the training target,
   on the same heatmap cells) and false, and the share of each that is rejected; the recall of the ground
   truths (a proposal of the right class with IoU >= 0.7, or 0.5) before and after the rejection.

Usage (from the repository root)::

    python packages/detection/benchmarks/cpn_mechanism.py --logs work_dirs/cpn_s0/*/*.log
    python packages/detection/benchmarks/cpn_mechanism.py --config CONFIG --checkpoints A.pth [B.pth ...]
"""
import argparse

import torch

from _checkpoint_model import load_detector, val_with_ground_truth
from _train_logs import print_log_table

KEYS = ('cpn_proposals', 'cpn_pos_share', 'cpn_rejected', 'cpn_to_class', 'loss_binary', 'loss_class',
        'det_loss')


@torch.no_grad()
def rejection_stats(config: str, checkpoint: str) -> dict:
    from mmdet.structures.bbox import bbox2roi, bbox_overlaps
    from tessera_detection.models.dense_heads.cpn_head import gt_cell_boxes

    cfg, model = load_detector(config, checkpoint)
    head = model.bbox_head
    dataset = val_with_ground_truth(cfg)
    n = dict(imgs=0, props=0, rejected=0, true=0, true_rej=0, false=0, false_rej=0, gt=0,
             rec70=0, rec70_after=0, rec50=0, rec50_after=0)
    for i in range(0, len(dataset), 16):
        items = [dataset[j] for j in range(i, min(i + 16, len(dataset)))]
        batch = model.data_preprocessor({'inputs': [b['inputs'] for b in items],
                                         'data_samples': [b['data_samples'] for b in items]}, False)
        feats = model.extract_feat(batch['inputs'])
        outs = head(feats)
        tl_heat, br_heat = outs[0][-1], outs[1][-1]
        props = head.proposals(tl_heat, br_heat)
        rois = bbox2roi([p.cell_boxes for p in props])
        s_b = head.binary_classifier(outs[6][-1], rois).sigmoid()[:, 0]
        feat_hw = tuple(tl_heat.shape[-2:])
        start = 0
        for p, sample in zip(props, batch['data_samples']):
            keep = s_b[start:start + len(p)] >= head.reject_thr
            start += len(p)
            gt = sample.gt_instances
            stride_xy = head._strides(tl_heat, sample.metainfo)
            cells = gt_cell_boxes(gt.bboxes, stride_xy, feat_hw)
            iou = bbox_overlaps(cells, p.cell_boxes)  # (G, P)
            true = (iou.max(0).values >= 0.7) if len(gt) else torch.zeros(len(p), dtype=torch.bool)
            same = gt.labels[:, None] == p.labels[None, :]
            n['imgs'] += 1
            n['props'] += len(p)
            n['rejected'] += int((~keep).sum())
            n['true'] += int(true.sum())
            n['true_rej'] += int((true & ~keep).sum())
            n['false'] += int((~true).sum())
            n['false_rej'] += int((~true & ~keep).sum())
            n['gt'] += len(gt)
            for thr in (70, 50):
                hit = (iou >= thr / 100) & same
                n[f'rec{thr}'] += int(hit.any(1).sum())
                n[f'rec{thr}_after'] += int((hit & keep[None, :]).any(1).sum())
    return dict(props_per_img=n['props'] / n['imgs'], rejected=n['rejected'] / max(1, n['props']),
                true_share=n['true'] / max(1, n['props']), true_rejected=n['true_rej'] / max(1, n['true']),
                false_rejected=n['false_rej'] / max(1, n['false']), recall70=n['rec70'] / n['gt'],
                recall70_after=n['rec70_after'] / n['gt'], recall50=n['rec50'] / n['gt'],
                recall50_after=n['rec50_after'] / n['gt'])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--logs', nargs='*', default=[])
    parser.add_argument('--config')
    parser.add_argument('--checkpoints', nargs='*', default=[])
    args = parser.parse_args()
    for path in args.logs:
        print_log_table(path, KEYS, also=(20,))
    if args.checkpoints:
        if not args.config:
            parser.error('--checkpoints needs --config')
        keys = None
        for ckpt in args.checkpoints:
            stats = rejection_stats(args.config, ckpt)
            if keys is None:
                keys = list(stats)
                print('| checkpoint | ' + ' | '.join(keys) + ' |')
                print('|---' * (len(keys) + 1) + '|')
            print(f'| {ckpt} | ' + ' | '.join(f'{stats[k]:.3f}' for k in keys) + ' |')


if __name__ == '__main__':
    main()

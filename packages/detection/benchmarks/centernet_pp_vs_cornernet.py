"""CenterNet++ vs CornerNet on the digit canvases: COCO AP / AP50 / AR@100, false detections, and the
mechanism checks (center loss curve, boxes the central-region verification dropped, and how false they were).

For each ``--run NAME:CONFIG:CHECKPOINT`` the val canvases are decoded once (and, for a CenterNet++ head, once
more with ``center_verification=False``, i.e. CornerNet's decoding of the same network). Printed per run:

- ``AP``, ``AP50``, ``AR100``: pycocotools' COCOeval on the 200 val canvases (what ``CocoMetric`` reports);
- ``FD``: the false-discovery rate of the CenterNet paper, ``1 - AP`` averaged over IoU 0.05:0.05:0.5;
- ``false@0.3``: among detections of score >= 0.3, the share whose IoU with every ground-truth box of the
  same class in the image is < 0.5; ``false/img@0.3`` their number per image; ``false@top100``: the same share
  over all (at most 100) detections of each image;
- for CenterNet++: ``pairs`` (corner-pair boxes CornerNet's grouping keeps, before NMS, per image), ``kept``
  (verified by a center), and among the dropped pairs of pair score >= 0.3 the share that was false (IoU < 0.5).

``--logs LOG...``: the mean of ``ct_det_loss`` / ``det_loss`` over the first and last 100 iterations of
``mim train`` logs.

Usage (from the repository root)::

    python packages/detection/benchmarks/centernet_pp_vs_cornernet.py \
        --run cornernet:CONFIG_A:work_dirs/cornernet_s0/iter_600.pth --run centernet-pp:CONFIG_B:CKPT_B
    python packages/detection/benchmarks/centernet_pp_vs_cornernet.py --logs work_dirs/cnpp_s0/*/*.log
"""
import argparse
import copy
import re
from pathlib import Path

import numpy as np
import torch

from _checkpoint_model import load_detector


def log_losses(path: str, keys=('det_loss', 'ct_det_loss', 'off_loss', 'ct_off_loss', 'pull_loss', 'push_loss')):
    rows = []
    for line in Path(path).read_text().splitlines():
        m = re.search(r'Iter\(train\) \[\s*(\d+)/\d+\]', line)
        if m:
            vals = {k: re.search(rf'\b{k}: ([\d.]+)', line) for k in keys}
            rows.append((int(m.group(1)), {k: float(v.group(1)) for k, v in vals.items() if v}))
    last = rows[-1][0]
    for k in keys:
        first = [r[k] for i, r in rows if i <= 100 and k in r]
        end = [r[k] for i, r in rows if i > last - 100 and k in r]
        if first and end:
            print(f'{path}: {k} first 100 it {np.mean(first):.4f} -> last 100 it {np.mean(end):.4f}')


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    from mmdet.structures.bbox import bbox_overlaps
    if a.numel() == 0 or b.numel() == 0:
        return a.new_zeros(a.size(0), b.size(0))
    return bbox_overlaps(a, b)


def is_false(bboxes, labels, gt_bboxes, gt_labels, iou_thr=0.5) -> torch.Tensor:
    """(D,) True where a detection has IoU < iou_thr with every ground truth of its class."""
    iou = box_iou(bboxes, gt_bboxes)
    same = labels[:, None] == gt_labels[None, :]
    best = torch.where(same, iou, iou.new_zeros(())).amax(dim=1) if iou.numel() else bboxes.new_zeros(len(bboxes))
    return best < iou_thr


def coco_eval(images, gts, dets, iou_thrs=None):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt = COCO()
    gt.dataset = dict(images=[dict(id=i) for i in images], categories=[dict(id=c) for c in range(10)],
                      annotations=gts)
    gt.createIndex()
    dt = gt.loadRes(dets) if dets else COCO()
    ev = COCOeval(gt, dt, 'bbox')
    if iou_thrs is not None:
        ev.params.iouThrs = iou_thrs
    ev.evaluate()
    ev.accumulate()
    if iou_thrs is not None:
        p = ev.eval['precision'][:, :, :, 0, -1]  # all areas, maxDets 100
        return float(np.mean(p[p > -1]))
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        ev.summarize()
    return dict(AP=ev.stats[0], AP50=ev.stats[1], AR100=ev.stats[8])


@torch.no_grad()
def evaluate(config: str, checkpoint: str, verification: bool = True, score_thr: float = 0.3,
             area_thr: float = None):
    from tessera_detection.registry import DATASETS

    cfg, model = load_detector(config, checkpoint)
    head = model.bbox_head
    is_pp = hasattr(head, 'verification_counts')
    if is_pp:
        head.test_cfg['center_verification'] = verification
        if area_thr is not None:
            head.test_cfg['central_region_area_thr'] = area_thr
        head.verification_counts.update(images=0, pairs=0, kept=0)
        head.rejected = []
    dataset = DATASETS.build(copy.deepcopy(cfg.val_dataloader.dataset))
    images, gts, dets = [], [], []
    n_conf = n_conf_false = n_all = n_all_false = 0
    rej_conf = rej_conf_false = 0
    for i in range(0, len(dataset), 16):
        batch = [dataset[j] for j in range(i, min(i + 16, len(dataset)))]
        if is_pp:
            head.rejected = []
        outs = model.test_step({'inputs': [b['inputs'] for b in batch],
                                'data_samples': [b['data_samples'] for b in batch]})
        for k, ds in enumerate(outs):
            img_id = ds.img_id
            images.append(img_id)
            g = ds.gt_instances
            gb, gl = g.bboxes.tensor if hasattr(g.bboxes, 'tensor') else g.bboxes, g.labels
            for b, lab in zip(gb.tolist(), gl.tolist()):
                gts.append(dict(id=len(gts) + 1, image_id=img_id, category_id=lab, iscrowd=0,
                                bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]], area=(b[2] - b[0]) * (b[3] - b[1])))
            p = ds.pred_instances
            for b, s, lab in zip(p.bboxes.tolist(), p.scores.tolist(), p.labels.tolist()):
                dets.append(dict(image_id=img_id, category_id=lab, score=s,
                                 bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]]))
            false = is_false(p.bboxes, p.labels, gb, gl)
            conf = p.scores >= score_thr
            n_all += len(false)
            n_all_false += int(false.sum())
            n_conf += int(conf.sum())
            n_conf_false += int((false & conf).sum())
            if is_pp and verification:
                rb, rs, rl = head.rejected[k]
                rc = rs >= score_thr
                rej_conf += int(rc.sum())
                rej_conf_false += int(is_false(rb[rc], rl[rc], gb, gl).sum())
    res = coco_eval(images, gts, dets)
    res['FD'] = 1 - coco_eval(images, gts, dets, iou_thrs=np.arange(0.05, 0.51, 0.05))
    res['false@0.3'] = n_conf_false / max(1, n_conf)
    res['false/img@0.3'] = n_conf_false / len(images)
    res['false@top100'] = n_all_false / max(1, n_all)
    if is_pp:
        c = head.verification_counts
        res['pairs/img'] = c['pairs'] / c['images']
        res['kept/img'] = c['kept'] / c['images']
        if verification:
            res['dropped@0.3/img'] = rej_conf / len(images)
            res['dropped@0.3 false'] = rej_conf_false / max(1, rej_conf)
    return res


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--run', action='append', default=[], help='NAME:CONFIG:CHECKPOINT')
    parser.add_argument('--logs', nargs='*', default=[])
    parser.add_argument('--area-thr', type=float, nargs='*', default=[None],
                        help='central_region_area_thr values to evaluate CenterNet++ runs at (default: config)')
    args = parser.parse_args()
    for log in args.logs:
        log_losses(log)
    for run in args.run:
        name, config, ckpt = run.split(':')
        variants = [(name, dict())]
        if 'centernet' in Path(config).name.lower():
            variants = [(f'{name} (area_thr {a})' if a is not None else name, dict(area_thr=a))
                        for a in args.area_thr]
            variants.append((f'{name} without verification', dict(verification=False)))
        for label, kw in variants:
            res = evaluate(config, ckpt, **kw)
            print(f'| {label} | ' + ' | '.join(f'{k} {v:.3f}' for k, v in res.items()) + ' |', flush=True)


if __name__ == '__main__':
    main()

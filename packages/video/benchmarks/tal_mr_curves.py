"""TAL-MR with vs without the mutual regularizers, side by side on the held-out untrimmed moving digits.

For each ``name=checkpoint`` (trained with the TAL-MR config or its ``noreg`` twin) prints, on the test videos of
the config: AR@1/5/10/100 and AUC (ActivityNet protocol), mAP at tIoU 0.3..0.7, the three phase losses, IntraC and
InterC of the predicted curves against the ground truth (how consistent each model's curves are), and the mean
absolute difference of every curve between the first checkpoint and each other one. With ``--pem`` it also
trains the official proposal evaluation module on each run's training-video proposals and reports the rescored
AR / mAP (step 2 of the official code).

    python packages/video/benchmarks/tal_mr_curves.py mr=work_dirs/tal_mr/mr_s0/epoch_20.pth \
        noreg=work_dirs/tal_mr/noreg_s0/epoch_20.pth
"""
import argparse
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

CONFIG = osp.join(osp.dirname(__file__), '..', 'tessera_video', 'configs', 'tal_mr',
                  'tal-mr_c3d-r18-w16-snippets_untrimmed-digits.py')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('runs', nargs='+', help='name=checkpoint')
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--pem', action='store_true', help='also rescore with a PEM trained on the train videos')
    parser.add_argument('--seed', type=int, default=0, help='seed of the PEM training')
    args = parser.parse_args()

    init_default_scope('tessera_video')
    import tessera_video.datasets  # noqa: F401
    import tessera_video.evaluation  # noqa: F401
    import tessera_video.models  # noqa: F401
    from tessera_core.engine import safe_load
    from tessera_video.evaluation.temporal_metrics import ar_at_an, mean_average_precision, temporal_iou
    from tessera_video.models.localizers.proposal_evaluation import pem_features, proposal_max_iou, train_pem
    from tessera_video.models.losses.tal_mr_losses import (inter_consistency_loss, intra_consistency_loss,
                                                           phase_classification_loss)
    from tessera_video.registry import DATASETS, MODELS

    cfg = Config.fromfile(args.config)

    def load(dataset_cfg):
        ds = DATASETS.build(dataset_cfg)
        its = [ds[i] for i in range(len(ds))]
        return torch.stack([it['inputs'] for it in its]), [it['data_samples'] for it in its]

    def oracle_labels(p):
        # the class of the ground-truth instance a proposal overlaps most (-1 without overlap): mAP of
        # localization alone, free of the frozen classifier's labelling errors
        if len(p['proposals']) == 0:
            return p['proposal_labels']
        iou = temporal_iou(p['proposals'][:, :2], p['gt_segments'])
        return np.where(iou.max(1) > 0, np.asarray(p['gt_labels'])[iou.argmax(1)], -1)

    def evaluate(preds, scores=None, oracle=False):
        rows = {p['video_id']: p['proposals'] if scores is None else
                np.column_stack([p['proposals'][:, :2], scores[p['video_id']]]) for p in preds}
        labels = {p['video_id']: oracle_labels(p) if oracle else p['proposal_labels'] for p in preds}
        gt = {p['video_id']: p['gt_segments'] for p in preds}
        ar = ar_at_an(gt, rows, (1, 5, 10, 100))
        top = {v: np.argsort(-r[:, 2], kind='stable')[:200] for v, r in rows.items()}
        m_ap, _ = mean_average_precision({p['video_id']: (p['gt_segments'], p['gt_labels']) for p in preds},
                                         {p['video_id']: (rows[p['video_id']][top[p['video_id']]],
                                                          labels[p['video_id']][top[p['video_id']]]) for p in preds})
        return ar, m_ap

    def pem_input(p):
        return pem_features(p['start'], p['action'], p['end'], p['centers'], p['proposals'])

    feats, samples = load(cfg.test_dataloader.dataset)
    if args.pem:
        train_feats, train_samples = load(cfg.train_dataloader.dataset)
    curves = {}
    for spec in args.runs:
        name, ckpt = spec.split('=', 1)
        model = MODELS.build(cfg.model)
        model.load_state_dict(safe_load(ckpt, map_location='cpu')['state_dict'])
        model.eval()
        preds = model.predict(feats, samples)
        with torch.no_grad():
            out = model.forward_curves(feats)
            target = model.targets(samples, out['action'].size(1), feats.device)
        ar, m_ap = evaluate(preds)
        _, m_ap_oracle = evaluate(preds, oracle=True)
        cls = {k: float(phase_classification_loss(out[k], target[k])) for k in ('action', 'start', 'end')}
        intra = {k: float(sum(intra_consistency_loss(out[k], target[k]))) for k in ('action', 'start', 'end')}
        inter = [float(x) for x in inter_consistency_loss(out['action'], out['start'], out['end'])]
        curves[name] = {k: out[k].numpy() for k in ('action', 'start', 'end')}
        print(f'{name}: AR@1 {100 * ar[1]:.2f}  AR@5 {100 * ar[5]:.2f}  AR@10 {100 * ar[10]:.2f}  '
              f'AR@100 {100 * ar[100]:.2f}  AUC {100 * ar["auc"]:.2f} | mAP@0.3..0.7 '
              + ' '.join(f'{100 * v:.2f}' for v in m_ap) + f'  (mean {100 * m_ap.mean():.2f})')
        print('    oracle labels (localization only): mAP@0.3..0.7 '
              + ' '.join(f'{100 * v:.2f}' for v in m_ap_oracle) + f'  (mean {100 * m_ap_oracle.mean():.2f})')
        print(f'    phase losses a/s/e {cls["action"]:.4f} {cls["start"]:.4f} {cls["end"]:.4f} | IntraC a/s/e '
              f'{intra["action"]:.4f} {intra["start"]:.4f} {intra["end"]:.4f} | InterC s/e {inter[0]:.4f} '
              f'{inter[1]:.4f} | proposals/video {np.mean([len(p["proposals"]) for p in preds]):.1f}')
        if args.pem:
            train_preds = model.predict(train_feats, train_samples)
            x = np.concatenate([pem_input(p) for p in train_preds])
            y = np.concatenate([proposal_max_iou(p['proposals'], p['gt_segments']) for p in train_preds])
            pem = train_pem(x, y, seed=args.seed)
            with torch.no_grad():
                rescored = {p['video_id']: p['proposals'][:, 2] * pem(torch.as_tensor(pem_input(p))).numpy()
                            for p in preds}
            ar_p, m_ap_p = evaluate(preds, rescored)
            print(f'    + PEM ({len(x)} training proposals, mean target tIoU {y.mean():.3f}): '
                  f'AR@1 {100 * ar_p[1]:.2f}  AR@5 {100 * ar_p[5]:.2f}  AR@10 {100 * ar_p[10]:.2f}  AR@100 {100 * ar_p[100]:.2f}  AUC '
                  f'{100 * ar_p["auc"]:.2f} | mAP@0.3..0.7 ' + ' '.join(f'{100 * v:.2f}' for v in m_ap_p)
                  + f'  (mean {100 * m_ap_p.mean():.2f})')
    names = list(curves)
    for other in names[1:]:
        diff = {k: float(np.abs(curves[names[0]][k] - curves[other][k]).mean()) for k in ('action', 'start', 'end')}
        print(f'mean |{names[0]} - {other}| of the curves: action {diff["action"]:.4f} start {diff["start"]:.4f} '
              f'end {diff["end"]:.4f}')


if __name__ == '__main__':
    main()

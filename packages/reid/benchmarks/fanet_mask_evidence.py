"""FANet mechanism evidence from a trained checkpoint, on the CamStyle-ReID test images (unseen identities).

Prints, for the learned soft mask M: IoU with the true masks at several thresholds (M upsampled bilinearly to the
image), the mean of M on true foreground / background pixels; for the two branches: how much identity the identity
classifier sees in each (KL(U || softmax(W_id BN(f))) , the TAL quantity: 0 = none, log K = one-hot) and the camera
accuracy of the background branch.

    python packages/reid/benchmarks/fanet_mask_evidence.py CONFIG CHECKPOINT [--max-images 1200]
"""
import argparse
import math

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--max-images', type=int, default=1200)
    parser.add_argument('--thresholds', type=float, nargs='+', default=[0.1, 0.2, 0.3, 0.5])
    args = parser.parse_args()
    init_default_scope('tessera_reid')
    import tessera_reid.datasets  # noqa: F401  (registers)
    import tessera_reid.models  # noqa: F401
    from tessera_reid.registry import DATASETS, MODELS

    cfg = Config.fromfile(args.config)
    model = MODELS.build(cfg.model)
    from tessera_core.engine import safe_load
    state = safe_load(args.checkpoint, map_location='cpu')   # the allowlisted loader: no code runs
    model.load_state_dict(state['state_dict'])
    model.eval()
    data = DATASETS.build(cfg.test_dataloader.dataset)
    n = min(len(data), args.max_images)
    step = max(1, len(data) // n)
    items = [data[i] for i in range(0, len(data), step)][:n]
    inputs = torch.stack([it['inputs'] for it in items])
    gt = torch.stack([it['data_samples'].gt_mask for it in items])
    cams = torch.tensor([it['data_samples'].metainfo['camid'] for it in items])
    head = model.head
    with torch.no_grad():
        batch = model.data_preprocessor(dict(inputs=list(inputs), data_samples=None), False)['inputs']
        feats = model.extract_feat(batch)
        logits, f_fg, f_bg = head.split(feats)
        soft = F.interpolate(torch.sigmoid(logits), size=gt.shape[-2:], mode='bilinear', align_corners=False)[:, 0]
        true = gt >= 0.5
        print(f'{n} test images; true foreground fraction {true.float().mean():.3f}, mean M {soft.mean():.3f}')
        print(f'mean M on true foreground {soft[true].mean():.3f}, on true background {soft[~true].mean():.3f}')
        for thr in args.thresholds:
            pred = soft >= thr
            inter, union = (pred & true).sum((1, 2)).float(), (pred | true).sum((1, 2)).float()
            iou = torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))
            print(f'mask IoU at threshold {thr:.2f}: {100 * iou.mean():.2f} %  '
                  f'(predicted area {pred.float().mean():.3f})')
        w = head.fg_head.classifier.weight
        k = w.size(0)
        kl = lambda z: (torch.logsumexp(z, 1) - z.mean(1) - math.log(k)).mean().item()  # noqa: E731
        fg_logits = F.linear(head.fg_head.bottleneck(f_fg), w)
        bg_logits = F.linear(head.bg_bottleneck(f_bg), w)
        print(f'identity seen by W_id, KL(U || p) (0 none, log K = {math.log(k):.2f} one-hot): foreground '
              f'{kl(fg_logits):.3f}, background {kl(bg_logits):.3f}')
        cam = head.camera_classifier(head.bg_bottleneck(f_bg)).argmax(1)
        print(f'background branch camera accuracy on the test cameras: {100 * cam.eq(cams).float().mean():.2f} %')


if __name__ == '__main__':
    main()

"""LaBERT (Length-Controllable Image Captioning, Deng et al., ECCV 2020, arXiv:2007.09580; official code
https://github.com/bearcatt/LaBERT) vs an autoregressive captioner of the same size on StampScenes.

Split by stamp (test stamps never seen in training). Per length level: CIDEr / BLEU-4 (pycocoevalcap
scorers; references = all three captions of the image, as the paper scores every level against all
references), length precision (share of generated captions whose token length lies in the requested
bin) and decoding latency per caption; the AR captioner cannot be told a length, so its length
distribution over the bins is reported instead. Mechanism checks printed first: how far the length
(type) embeddings moved from their initial values, and the share of test images whose captions differ
between levels.

    python benchmarks/labert_vs_autoregressive.py --phase train --work-dir work_dirs/labert_bench
    python benchmarks/labert_vs_autoregressive.py --phase train_ar --work-dir work_dirs/labert_bench
    python benchmarks/labert_vs_autoregressive.py --phase eval --work-dir work_dirs/labert_bench

Lengths count ``WordTokenizer.split`` tokens (words and punctuation). Also reported per level: the
length precision on the test images that have a reference caption in the level's bin (StampScenes
ties caption length to the scene: a one-object scene has no caption of 25+ tokens, so level 3 asks
for a length never seen with such an image), CIDEr after the official post-processing that collapses
repeated words (``inference.py``), and a training-batch diagnosis (``diagnose``): the share of the
weighted loss on [EOS] targets, masked-token accuracy on words / [EOS], and the length a single
fully-masked pass gives per level.
"""
import re
import argparse
import json
import os
import os.path as osp
import time

import numpy as np
import torch

from tessera_multimodal.datasets import StampScenes
from tessera_multimodal.models import LaBERT, WordTokenizer

SCENES = dict(num_train=2000, num_test=500, size=(96, 96), max_objects=3, test_fraction=0.2, split_seed=0, seed=0,
              max_description_words=8)
BACKBONE = dict(type='ResNet', depth=18, in_channels=3, stem='small', stem_stride=2, base_channels=16,
                out_indices=(3,))  # 96x96 -> 6x6 grid of 128-d features


def load(split):
    ds = StampScenes(split=split, caption_level='medium', **SCENES)
    imgs = torch.from_numpy(np.ascontiguousarray(ds.images)).permute(0, 3, 1, 2).contiguous()  # uint8 (N,3,H,W)
    caps = [ds.get_data_info(i)['captions'] for i in range(len(ds))]
    return imgs, caps


def norm(x):
    return (x.float() - 127.5) / 127.5


def build(vocab, args):
    torch.manual_seed(args.seed)
    return LaBERT(image_backbone=BACKBONE, tokenizer=WordTokenizer(vocab=vocab, context_length=256),
                  bert=dict(hidden_size=args.width, num_layers=args.layers, num_heads=4, dropout=0.1),
                  length_bins='stamps', steps=args.steps, grid_size=36, skip_out_of_bins=True,
                  eos_decay=args.eos_decay if len(args.eos_decay) > 1 else args.eos_decay[0])


class Sample(dict):
    def get(self, k, d=None):
        return super().get(k, d)


def train(args):
    imgs, caps = load('train')
    vocab = sorted({w for c in caps for t in c.values() for w in WordTokenizer.split(t)})
    model = build(vocab, args)
    init_type = model.bert.token_type_embeddings.weight.detach().clone()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * max(0.0, 1 - s / args.iters))
    g = torch.Generator().manual_seed(args.seed)
    model.train()
    t0 = time.time()
    for it in range(args.iters):
        idx = torch.randint(len(imgs), (args.batch,), generator=g)
        x = norm(imgs[idx])
        ds = [Sample(captions=caps[i]) for i in idx.tolist()]
        loss = model(x, ds, 'loss')['loss_mlm']
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if it % 50 == 0 or it == args.iters - 1:
            print(f'iter {it} loss {loss.item():.3f} {time.time() - t0:.0f}s', flush=True)
    os.makedirs(args.work_dir, exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), vocab=vocab, init_type=init_type, args=vars(args),
                    train_seconds=time.time() - t0), osp.join(args.work_dir, 'labert.pth'))
    print(f'trained {args.iters} iters in {time.time() - t0:.0f}s')


def score(preds, refs):
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    tok = lambda s: ' '.join(WordTokenizer.split(s))  # noqa: E731
    gts = {i: [tok(r) for r in refs[i]] for i in range(len(preds))}
    res = {i: [tok(preds[i]) or 'a'] for i in range(len(preds))}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    return 100 * cider, 100 * bleu[3]


def collapse_repeats(text):
    """Official post-processing (``inference.py``): a word repeated back to back is kept once."""
    return re.sub(r'\b(\w+)( \1\b)+', r'\1', text)


def diagnose(model, n=256, seed=1):
    """On ``n`` training scenes (one caption each, fixed seed), per length level: the share of the
    weighted loss carried by [EOS] targets, masked-token accuracy on word / [EOS] targets (the
    training masks), and the first-[EOS] position of one fully-masked pass at the caption's own level
    vs its true length (does the level alone fix the length?)."""
    imgs, caps = load('train')
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(imgs), (n,), generator=g).tolist()
    torch.manual_seed(seed)
    captions, keep = model._captions_for_training([Sample(captions=caps[i]) for i in idx])
    x = norm(imgs[[idx[i] for i in keep]])
    targets, levels = model.encode_targets(captions)
    eos = model.ids.eos_id
    out = {}
    with torch.no_grad():
        image = model.image_tokens(x)
        masked = model.random_masks(targets, generator=g)
        logits = model.logits(image, targets.masked_fill(masked, model.ids.mask_id), levels)
        full = model.logits(image, targets.masked_fill(targets != model.ids.pad_id, model.ids.mask_id), levels)
    for k, (lo, hi) in enumerate(model.levels.bins, 1):
        sel = levels == k
        if not sel.any():
            continue
        m = masked[sel]
        lg, tg = logits[sel][m], targets[sel][m]
        logp = lg.log_softmax(-1)
        V = lg.size(-1)
        s = model.label_smoothing
        true = torch.full_like(logp, s / (V - 1)).scatter_(1, tg.unsqueeze(1), 1 - s)
        per = -(true * logp).sum(-1) * model.class_weight[tg]
        is_eos = tg == eos
        acc = lg.argmax(-1) == tg
        true_len = (targets[sel] != eos).logical_and(targets[sel] != model.ids.pad_id).sum(1).float()
        pred = full[sel, :hi].argmax(-1)
        first_eos = torch.where((pred == eos).any(1), (pred == eos).float().argmax(1), torch.tensor(hi)).float()
        out[f'L{k}'] = dict(captions=int(sel.sum()), true_len=round(float(true_len.mean()), 1),
                            eos_target_share=round(100 * float(is_eos.float().mean()), 1),
                            eos_loss_share=round(100 * float(per[is_eos].sum() / per.sum()), 1),
                            word_acc=round(100 * float(acc[~is_eos].float().mean()), 1),
                            eos_acc=round(100 * float(acc[is_eos].float().mean()), 1) if is_eos.any() else None,
                            one_pass_len=round(float(first_eos.mean()), 1),
                            one_pass_in_bin=round(100 * float(((first_eos >= lo) & (first_eos <= hi)).float().mean()), 1))
    return out


def evaluate(args):
    from tessera_core.engine import safe_load
    ck = safe_load(osp.join(args.work_dir, 'labert.pth'), map_location='cpu')
    model = build(ck['vocab'], args)
    model.load_state_dict(ck['state_dict'])
    model.eval()
    imgs, caps = load('test')
    n = min(args.num_test, len(imgs))
    x = norm(imgs[:n])
    refs = [list(c.values()) for c in caps[:n]]
    # mechanism could act
    typ = model.bert.token_type_embeddings.weight.detach()
    K = len(model.levels)
    moved = (typ - ck['init_type']).norm(dim=1)
    print('length (type) embedding L2 norm init -> trained, moved:')
    for k in range(1, K + 1):
        print(f'  L{k}: {ck["init_type"][k].norm():.3f} -> {typ[k].norm():.3f}, moved {moved[k]:.3f}')
    print('pairwise distance of level embeddings:',
          {f'L{a}-L{b}': round(float((typ[a] - typ[b]).norm()), 3)
           for a in range(1, K + 1) for b in range(a + 1, K + 1)})
    out = dict(n_test=n, levels={}, bins=model.levels.bins, train_seconds=ck['train_seconds'],
               iters=ck['args']['iters'])
    out['diagnosis'] = diagnose(model)
    print('training-batch diagnosis per level:', json.dumps(out['diagnosis']), flush=True)
    ref_lens = [[len(WordTokenizer.split(r)) for r in rs] for rs in refs]
    preds = {}
    with torch.no_grad():
        image = torch.cat([model.image_tokens(x[i:i + 50]) for i in range(0, n, 50)])
        for k, (lo, hi) in enumerate(model.levels.bins, 1):
            t0 = time.perf_counter()
            ids = torch.cat([model.generate(None, k, image=image[i:i + 50]) for i in range(0, n, 50)])
            dt = (time.perf_counter() - t0) / n
            assert ids.shape[1] == hi
            preds[k] = [model.ids.decode(r) for r in ids]
            lens = np.array([len(WordTokenizer.split(p)) for p in preds[k]])
            cider, b4 = score(preds[k], refs)
            cider_c, _ = score([collapse_repeats(p) for p in preds[k]], refs)
            inbin = (lens >= lo) & (lens <= hi)
            has = np.array([any(lo <= r <= hi for r in rl) for rl in ref_lens])
            out['levels'][f'L{k}'] = dict(bin=[lo, hi], steps=model.steps[k - 1], CIDEr=round(float(cider), 2),
                                          BLEU4=round(float(b4), 2),
                                          CIDEr_collapsed=round(float(cider_c), 2),
                                          length_precision=round(100 * float(inbin.mean()), 1),
                                          mean_len=round(float(lens.mean()), 1),
                                          images_with_ref_in_bin=round(100 * float(has.mean()), 1),
                                          length_precision_ref_in_bin=round(100 * float(inbin[has].mean()), 1),
                                          length_precision_no_ref_in_bin=round(100 * float(inbin[~has].mean()), 1)
                                          if (~has).any() else None,
                                          ms_per_caption=round(1000 * dt, 2))
            print(f'L{k} {out["levels"][f"L{k}"]}', flush=True)
    diff = {f'L{a}!=L{b}': round(100 * float(np.mean([preds[a][i] != preds[b][i] for i in range(n)])), 1)
            for a in range(1, K + 1) for b in range(a + 1, K + 1)}
    print('share of images whose captions differ between levels (%):', diff)
    out['differ'] = diff
    out['examples'] = [dict(refs=refs[i], **{f'L{k}': preds[k][i] for k in preds}) for i in range(args.show)]
    for e in out['examples']:
        print(json.dumps(e, indent=1))
    ar = ar_baseline(args, model.levels.bins, refs, x,
                     {k: v['ms_per_caption'] for k, v in out['levels'].items()})
    out['autoregressive'] = ar
    print('autoregressive baseline:', ar)
    out['eos_decay'] = list(model.eos_decay)
    with open(osp.join(args.work_dir, args.results), 'w') as f:
        json.dump(out, f, indent=1)


def build_ar(args):
    """The autoregressive baseline of the same size: same backbone grid, same width/layers/heads."""
    from tessera_multimodal.models import ImageCaptioner
    torch.manual_seed(args.seed)
    return ImageCaptioner(
        visual_encoder=dict(type='VisualGridEncoder', out_dim=args.width, backbone=BACKBONE),
        decoder=dict(type='TransformerCaptionDecoder', dim=args.width, num_layers=args.layers, num_heads=4,
                     dropout=0.1, tie_weights=True),
        tokenizer=dict(type='WordPieceTokenizer', vocab_size=1000,
                       train_dataset=dict(type='StampScenes', split='train', caption_level='medium', **SCENES)),
        max_length=64, truncate=True, label_smoothing=0.1, decoding=dict(type='greedy'))


def train_ar(args):
    imgs, caps = load('train')
    model = build_ar(args)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * max(0.0, 1 - s / args.iters))
    g = torch.Generator().manual_seed(args.seed)
    model.train()
    t0 = time.time()
    for it in range(args.iters):
        idx = torch.randint(len(imgs), (args.batch,), generator=g)
        # one of the three captions per image, as for LaBERT
        pick = torch.randint(3, (args.batch,), generator=g).tolist()
        ds = [Sample(caption=caps[i][sorted(caps[i])[j]]) for i, j in zip(idx.tolist(), pick)]
        loss = model(norm(imgs[idx]), ds, 'loss')['loss']
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if it % 50 == 0 or it == args.iters - 1:
            print(f'AR iter {it} loss {loss.item():.3f} {time.time() - t0:.0f}s', flush=True)
    torch.save(dict(state_dict=model.state_dict(), train_seconds=time.time() - t0),
               osp.join(args.work_dir, 'ar.pth'))


def ar_baseline(args, bins, refs, x, labert_ms):
    path = osp.join(args.work_dir, 'ar.pth')
    if not osp.isfile(path):
        return 'pending: no AR checkpoint (run --phase train_ar)'
    from tessera_core.engine import safe_load
    model = build_ar(args)
    model.load_state_dict(safe_load(path, map_location='cpu')['state_dict'])
    model.eval()
    n = x.size(0)
    t0 = time.perf_counter()
    with torch.no_grad():
        ids = [model.greedy(model.encode_images(x[i:i + 50])) for i in range(0, n, 50)]
    dt = (time.perf_counter() - t0) / n
    preds = [model.tokenizer.decode(r) for b in ids for r in b]
    lens = np.array([len(WordTokenizer.split(p)) for p in preds])
    cider, b4 = score(preds, refs)
    cider_c, _ = score([collapse_repeats(p) for p in preds], refs)
    dist = {f'L{k}': round(100 * float(((lens >= lo) & (lens <= hi)).mean()), 1)
            for k, (lo, hi) in enumerate(bins, 1)}
    return dict(CIDEr=round(float(cider), 2), BLEU4=round(float(b4), 2), CIDEr_collapsed=round(float(cider_c), 2),
                mean_len=round(float(lens.mean()), 1),
                length_distribution_over_bins=dist, ms_per_caption=round(1000 * dt, 2),
                latency_ratio_AR_over_LaBERT={k: round(1000 * dt / v, 2) for k, v in labert_ms.items()},
                examples=preds[:args.show])


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--phase', choices=['train', 'train_ar', 'eval', 'all'], default='all')
    p.add_argument('--work-dir', default='work_dirs/labert_bench')
    p.add_argument('--iters', type=int, default=800)
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--lr', type=float, default=5e-4)
    p.add_argument('--width', type=int, default=128)
    p.add_argument('--layers', type=int, default=3)
    p.add_argument('--steps', type=int, nargs='+', default=[10, 15, 20])
    p.add_argument('--num-test', type=int, default=200)
    p.add_argument('--show', type=int, default=4)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--eos-decay', type=float, nargs='+', default=[1.0],
                   help='per-level [EOS] penalty at decoding (one value, or one per level; official COCO: '
                        '1.0 0.88 0.95 1.0)')
    p.add_argument('--results', default='results.json', help='file name of the eval results in --work-dir')
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
    if args.phase in ('train', 'all'):
        train(args)
    if args.phase == 'train_ar':
        train_ar(args)
    if args.phase in ('eval', 'all'):
        evaluate(args)


if __name__ == '__main__':
    main()

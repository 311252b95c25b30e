# CenterNet++ single-resolution variant (./centernet-pp_hourglass-tiny_digit-canvas.py: 2-stack HourglassNet, no
# neck, stride 4) on a schedule that fits the ~30 CPU-minute budget of one measurement: batch 8 instead of 16 and
# 300 iterations instead of 600, with the learning-rate schedule scaled by the same 1/2: linear warm-up over the
# first 25 iterations (600-iteration schedule: 50), then cosine to 0 at 300. Same AdamW, lr 1e-3 (not rescaled
# for the halved batch). The network sees 2,400 canvases (2.4 epochs) against the 9,600 of the FPN runs, so its
# numbers are not at equal schedule with ./centernet-pp_resnet18-w16_fpn_digit-canvas.py (README.md).
# Status: measured with seeds 0 and 1, see README.md, "Single-resolution variant".
_base_ = ['./centernet-pp_hourglass-tiny_digit-canvas.py']

max_iters = 300
warmup_iters = 25
train_dataloader = dict(batch_size=8)
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup_iters, end=max_iters, T_max=max_iters - warmup_iters),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))

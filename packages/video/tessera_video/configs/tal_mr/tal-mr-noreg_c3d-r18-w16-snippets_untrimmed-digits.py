# The baseline of TAL-MR's ablation: the same localizer, data, schedule and seed without the two mutual
# regularizers (IntraC and InterC weights 0; their values are still computed and logged as `intra` / `inter`).
_base_ = ['./tal-mr_c3d-r18-w16-snippets_untrimmed-digits.py']
model = dict(loss_weights=dict(intra=0.0, inter=0.0))

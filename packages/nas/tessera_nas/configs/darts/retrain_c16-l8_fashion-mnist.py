# Retrain a genotype from scratch on Fashion-MNIST: the searched cell of a search run
# (`model.backbone.genotype=work_dirs/<search>/genotype.json`), a random cell of the same size
# (`model.backbone.genotype=random:<seed>`, tessera_nas.genotypes.random_genotype) or a published
# one (default 'DARTS_V2'), in the DARTS evaluation network at 16 initial channels and 8 cells
# (reductions at cells 2 and 5, auxiliary head on cell 5). Every genotype gets the same recipe, for
# the "search vs random" comparison: the official cnn/train.py (SGD lr 0.025, momentum 0.9, weight
# decay 3e-4, cosine to 0, batch 96, gradient clipping 5, auxiliary weight 0.4, drop path 0.2
# reached linearly) shortened to 3 epochs on the first 10,000 training images, zero-padded from 28 to
# 32 px (the auxiliary head expects the 8 x 8 maps of 32 px inputs); test on the 10,000 test images.
_base_ = ['./darts-v2_c16-l8_embedded-digits.py']  # same network, recipe and 32 px pipelines
data_root = '/usr/share/datasets/fashion-mnist'
train_dataloader = dict(dataset=dict(_delete_=True, type='FashionMNIST', data_root=data_root, split='train',
                                     indices=10000, pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(batch_size=250, dataset=dict(_delete_=True, type='FashionMNIST', data_root=data_root,
                                                   split='test', pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
model = dict(data_preprocessor=dict(num_channels=1, mean=[72.94], std=[90.02]), head=dict(topk=(1, 5)))

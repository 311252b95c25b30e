# DAFL's MNIST teacher (lenet5_embedded-digits.py: LeNet-5, CE, Adam lr 1e-3, batch 64) on Fashion-MNIST:
# all 60,000 training images (28 px resized to 32, Fashion-MNIST mean / std), 2 epochs = 1,876 iterations
# (the official teacher-train.py: 9 epochs of 60,000 at batch 256, about 2,100 iterations); tested on the
# 10,000 test images. Its checkpoint is the teacher of the *_lenet5-to-lenet5-half_fashion-mnist.py configs:
#   mim train tessera-compression dafl/lenet5_fashion-mnist.py --work-dir work_dirs/teacher_lenet5_fashion-mnist
_base_ = ['./lenet5_embedded-digits.py', './_base_/fashion_mnist_lenet5.py']
model = dict(data_preprocessor=dict(_delete_=True, **_base_.fmnist_preprocessor))
train_dataloader = dict(dataset=dict(_delete_=True, **_base_.fmnist_train))
val_dataloader = dict(dataset=dict(_delete_=True, **_base_.fmnist_test))
test_dataloader = val_dataloader
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)

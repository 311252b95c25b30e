# kd_lenet5-to-lenet5-half_embedded-digits.py (the real-data "KD" reference of DAFL's Table 1: CE + KD at
# T = 4, the teacher's recipe) on Fashion-MNIST: the teacher of lenet5_fashion-mnist.py, its 60,000 training
# images and 2 epochs; tested on the 10,000 test images.
_base_ = ['./kd_lenet5-to-lenet5-half_embedded-digits.py', './_base_/fashion_mnist_lenet5.py']
teacher_cfg = _base_.fmnist_teacher_cfg
teacher_ckpt = _base_.fmnist_teacher_ckpt
student = dict(data_preprocessor=dict(_delete_=True, **_base_.fmnist_preprocessor))
model = dict(student=student, teacher=teacher_cfg, teacher_ckpt=teacher_ckpt)
train_dataloader = dict(dataset=dict(_delete_=True, **_base_.fmnist_train))
val_dataloader = dict(dataset=dict(_delete_=True, **_base_.fmnist_test))
test_dataloader = val_dataloader
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)

# noise-kd_lenet5-to-lenet5-half_embedded-digits.py (the "normal distribution" row of DAFL's Table 1: KD on
# N(0, 1) images in the teacher's standardised input space) with the Fashion-MNIST teacher of
# lenet5_fashion-mnist.py; same KD loss, student optimizer and budget as
# dafl_lenet5-to-lenet5-half_fashion-mnist.py; the 10,000 test images validate the student.
_base_ = ['./noise-kd_lenet5-to-lenet5-half_embedded-digits.py', './_base_/fashion_mnist_lenet5.py']
teacher_cfg = _base_.fmnist_teacher_cfg
teacher_ckpt = _base_.fmnist_teacher_ckpt
student = dict(data_preprocessor=dict(_delete_=True, **_base_.fmnist_preprocessor))
model = dict(student=student, teacher=teacher_cfg, teacher_ckpt=teacher_ckpt)
val_dataloader = dict(dataset=dict(_delete_=True, **_base_.fmnist_test))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=30)  # the budget of dafl_lenet5-to-lenet5-half_fashion-mnist.py

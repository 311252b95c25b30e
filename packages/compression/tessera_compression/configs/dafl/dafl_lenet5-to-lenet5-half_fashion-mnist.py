# dafl_lenet5-to-lenet5-half_embedded-digits.py (DAFL at the paper's MNIST setting, LeNet-5 -> LeNet-5-half,
# official MNIST losses, weights and optimizers) with the Fashion-MNIST teacher of lenet5_fashion-mnist.py.
# Training reads no real image (noise seeds -> generator); the 10,000 Fashion-MNIST test images validate
# the student. Budget: batch 128, 100 iterations per epoch as the digits config, 30 epochs instead of 10
# (3,000 iterations; at the digits config's 1,000 the student was still rising, see README.md).
# Train the teacher first:
#   mim train tessera-compression dafl/lenet5_fashion-mnist.py --work-dir work_dirs/teacher_lenet5_fashion-mnist
_base_ = ['./dafl_lenet5-to-lenet5-half_embedded-digits.py', './_base_/fashion_mnist_lenet5.py']
teacher_cfg = _base_.fmnist_teacher_cfg
teacher_ckpt = _base_.fmnist_teacher_ckpt
student = dict(data_preprocessor=dict(_delete_=True, **_base_.fmnist_preprocessor))
model = dict(student=student, teacher=teacher_cfg, teacher_ckpt=teacher_ckpt)
val_dataloader = dict(dataset=dict(_delete_=True, **_base_.fmnist_test))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=30)

# The Fashion-MNIST pieces of the *_fashion-mnist.py configs of DAFL, added to their embedded-digits
# counterparts as a second base (new keys only; each config puts them where the digits configs have
# theirs): Debian's dataset-fashion-mnist (60,000 train / 10,000 test), 28 px resized to 32 as the
# digits configs (the LeNet-5 input size), standardised with Fashion-MNIST's pixel mean / std
# (0.2860 / 0.3530, the values of tessera-core's Fashion-MNIST configs), and the teacher's checkpoint.
fmnist_pipeline = [dict(type='Resize', scale=(32, 32)), dict(type='PackClsInputs')]
fmnist_root = '/usr/share/datasets/fashion-mnist'
fmnist_train = dict(type='FashionMNIST', data_root=fmnist_root, split='train', pipeline=fmnist_pipeline)
fmnist_test = dict(type='FashionMNIST', data_root=fmnist_root, split='test', pipeline=fmnist_pipeline)
fmnist_preprocessor = dict(type='ClsDataPreprocessor', mean=[0.2860 * 255], std=[0.3530 * 255])
fmnist_teacher_cfg = 'tessera_compression::dafl/lenet5_fashion-mnist.py'
fmnist_teacher_ckpt = 'work_dirs/teacher_lenet5_fashion-mnist/epoch_2.pth'

# Plain-32 (6n+2, n=5), Section 4.2 recipe on fashion-mnist.
# One grey channel (Fashion-MNIST mean 0.2860 x 255).

_base_ = [
    '../_base_/models/paper_resnet_cifar.py', '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/cifar_bs128_64k.py', '../_base_/cls_runtime.py'
]
model = dict(backbone=dict(depth=32, plain=True, in_channels=1),
             data_preprocessor=dict(mean=[72.94]))

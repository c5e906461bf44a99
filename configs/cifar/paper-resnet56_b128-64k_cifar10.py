# ResNet-56 (6n+2, n=9), Section 4.2 recipe on cifar10.
_base_ = [
    '../_base_/models/paper_resnet_cifar.py', '../_base_/datasets/cifar10.py',
    '../_base_/schedules/cifar_bs128_64k.py', '../_base_/cls_runtime.py'
]
model = dict(backbone=dict(depth=56, plain=False))

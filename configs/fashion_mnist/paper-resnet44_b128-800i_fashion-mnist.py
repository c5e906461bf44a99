# ResNet-44 (6n+2, n=7), the Fashion-MNIST study schedule (800 iterations).
_base_ = ['./paper-resnet20_b128-800i_fashion-mnist.py']
model = dict(backbone=dict(depth=44, plain=False))

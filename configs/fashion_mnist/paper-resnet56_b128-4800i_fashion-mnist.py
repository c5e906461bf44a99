# ResNet-56 (6n+2, option A), the Fashion-MNIST study schedule (4,800 iterations).
_base_ = ['./paper-resnet20_b128-4800i_fashion-mnist.py']
model = dict(backbone=dict(depth=56))

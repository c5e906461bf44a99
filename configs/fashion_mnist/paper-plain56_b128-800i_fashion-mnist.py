# Plain-56 (6n+2, n=9), the Fashion-MNIST study schedule (800 iterations).
_base_ = ['./paper-resnet20_b128-800i_fashion-mnist.py']
model = dict(backbone=dict(depth=56, plain=True))

# Plain-20 (6n+2, n=3), the Fashion-MNIST study schedule (800 iterations).
_base_ = ['./paper-resnet20_b128-800i_fashion-mnist.py']
model = dict(backbone=dict(depth=20, plain=True))

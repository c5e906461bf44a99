# Plain-32 (6n+2, no shortcuts), the Fashion-MNIST study schedule (4,800 iterations).
_base_ = ['./paper-resnet20_b128-4800i_fashion-mnist.py']
model = dict(backbone=dict(depth=32, plain=True))

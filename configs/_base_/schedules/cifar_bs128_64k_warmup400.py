# Section 4.2, ResNet-110 warm-up in its fixed form: lr x0.1 (0.01) for iterations 0..399,
# then 0.1 (the paper's "about 400 iterations"). MMEngine's ConstantLR restores the lr at
# step end - 1, hence end=401.
_base_ = ['./cifar_bs128_64k.py']
param_scheduler = [
    dict(type='ConstantLR', by_epoch=False, factor=0.1, begin=0, end=401),
    dict(type='MultiStepLR', by_epoch=False, milestones=[32000, 48000], gamma=0.1)]

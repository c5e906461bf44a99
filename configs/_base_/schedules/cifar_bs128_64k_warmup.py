# Section 4.2, ResNet-110 (and 1202): "we use 0.01 to warm up the training until the
# training error is below 80% (about 400 iterations), and then go back to 0.1". Here the
# fixed 400-iteration form of that rule: lr x0.1 for iterations 0..399. (MMEngine's
# ConstantLR restores the lr at step end - 1, hence end=401.)
_base_ = ['./cifar_bs128_64k.py']
param_scheduler = [
    dict(type='ConstantLR', by_epoch=False, factor=0.1, begin=0, end=401),
    dict(type='MultiStepLR', by_epoch=False, milestones=[32000, 48000], gamma=0.1)]

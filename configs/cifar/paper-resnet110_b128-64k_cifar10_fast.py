# ResNet-110 (with its warm-up), the same recipe with the speed switches on: data set on the
# GPU, bfloat16 autocast, torch.compile. See paper-resnet20_b128-64k_cifar10_fast.py.
_base_ = ['./paper-resnet110_b128-64k_cifar10.py']
train_cfg = dict(type='DeviceIterBasedTrainLoop')
optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')
compile = True

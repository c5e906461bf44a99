# ResNet-110 (with its warm-up), the same recipe with the speed switches on: data set on the
# GPU, bfloat16 autocast without loss scaling, no host-device wait inside an iteration,
# torch.compile, cuDNN autotuning. See paper-resnet20_b128-64k_cifar10_fast.py.
_base_ = ['./paper-resnet110_b128-64k_cifar10.py']
train_cfg = dict(type='DeviceIterBasedTrainLoop')
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
default_hooks = dict(nan_guard=dict(type='StopOnNonFiniteLossHook', interval=20))
compile = True
env_cfg = dict(cudnn_benchmark=True)

# ResNet-50 option B on ImageNet with the speed switches on (a GPU run; each changes no
# result beyond floating-point tolerance): bfloat16 autocast without loss scaling
# (AutocastOptimWrapper), NHWC weights and inputs (SpeedUpHook), torch.compile of the
# training step, pinned host memory, cuDNN autotuning, and no host-device wait inside an
# iteration (log values read when logged, the NaN guard every 20 and before every save).
_base_ = ['./paper-resnet50_b256_imagenet.py']
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
default_hooks = dict(nan_guard=dict(type='StopOnNonFiniteLossHook', interval=20))
custom_hooks = [dict(type='SpeedUpHook', channels_last=True)]
compile = True
env_cfg = dict(cudnn_benchmark=True)
train_dataloader = dict(pin_memory=True)

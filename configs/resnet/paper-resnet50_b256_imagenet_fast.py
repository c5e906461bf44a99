# ResNet-50 option B on ImageNet with the speed switches on (a GPU run; each changes no
# result beyond floating-point tolerance): bfloat16 autocast (AmpOptimWrapper), NHWC
# weights and inputs (SpeedUpHook), torch.compile of the training step, pinned host memory.
_base_ = ['./paper-resnet50_b256_imagenet.py']
optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')
custom_hooks = [dict(type='SpeedUpHook', channels_last=True)]
compile = True
train_dataloader = dict(pin_memory=True)

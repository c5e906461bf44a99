# The Fashion-MNIST depth study at a length where the nets converge (docs/reproduction.md):
# the Section 4.2 recipe (batch 128, SGD lr 0.1, momentum 0.9, wd 1e-4) for 4,800
# iterations (10.2 epochs of the 60k training images), lr /10 at 2,400 and 3,600 (the
# paper's 50 % and 75 %), validated on the 10k test images every 400 iterations, seed 0.
# Fastest path that keeps results: the images live on the training device and are padded,
# cropped and flipped there (DeviceIterBasedTrainLoop), bfloat16 autocast without loss
# scaling (AutocastOptimWrapper; fp32 where the CPU lacks bf16, said in the log).
# The other nets of the study inherit this file.
_base_ = ['./paper-resnet20_b128-64k_fashion-mnist.py']
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[2400, 3600], gamma=0.1)]
train_cfg = dict(type='DeviceIterBasedTrainLoop', max_iters=4800, val_interval=400)
optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16')
default_hooks = dict(checkpoint=dict(interval=2400),
                     nan_guard=dict(type='StopOnNonFiniteLossHook', interval=20))
randomness = dict(seed=0)

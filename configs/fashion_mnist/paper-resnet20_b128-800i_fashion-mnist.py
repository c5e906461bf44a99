# The project's Fashion-MNIST depth study (README, "Classification pretraining"): the
# Section 4.2 recipe scaled to 800 iterations at batch 128 (lr 0.1, /10 at 400 and 600),
# validated on the 10k test images every 100 iterations, seed 0. Equivalent to the 64k
# config with --cfg-options train_cfg.max_iters=800 train_cfg.val_interval=100
# 'param_scheduler.0.milestones=[400,600]' default_hooks.checkpoint.interval=400
# randomness.seed=0. The other nets of the study inherit this file.
_base_ = ['./paper-resnet20_b128-64k_fashion-mnist.py']
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[400, 600], gamma=0.1)]
train_cfg = dict(max_iters=800, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=400))
randomness = dict(seed=0)

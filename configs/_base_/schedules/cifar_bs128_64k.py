# Section 4.2: SGD, batch 128, lr 0.1 divided by 10 at 32k and 48k iterations, stop at 64k;
# weight decay 1e-4, momentum 0.9.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=False, milestones=[32000, 48000], gamma=0.1)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=64000, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=128)

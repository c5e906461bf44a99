# The "1x" detection schedule (12 epochs, lr / 10 after epochs 8 and 11), SGD with momentum
# 0.9 and weight decay 1e-4 (the paper's values, Section 3.4). lr 0.02 for a total batch of
# 16 (8 GPUs x 2 images); tools/train.py --auto-scale-lr rescales it to your batch.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11],
         gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=False, base_batch_size=16)

# PASCAL VOC schedule: 4 epochs over a 3x repeated trainval set, lr / 10 after epoch 3
# (mmdet's VOC schedule, the Faster R-CNN paper's 60k + 20k iterations ratio); SGD with
# momentum 0.9, weight decay 1e-4. lr 0.01 for a total batch of 16 (8 GPUs x 2 images).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=4, by_epoch=True, milestones=[3], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=False, base_batch_size=16)

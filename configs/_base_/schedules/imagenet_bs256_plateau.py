# Section 3.4: SGD, mini-batch 256, lr 0.1 divided by 10 when the error plateaus, up to
# 60e4 iterations (= 120 epochs of 1.28M images), weight decay 1e-4, momentum 0.9.
# Batch 256 = 8 GPUs x 32; --auto-scale-lr rescales the lr for another total batch.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='ReduceOnPlateauLR', monitor='error/top1', rule='less', factor=0.1,
         patience=5, by_epoch=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=120, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=256)

# ImageNet runtime: the Section 3.4 schedule is counted in epochs here (60e4 iterations at
# batch 256 = 120 epochs of 1.28M images), so checkpoints every epoch and epoch-based logs.
_base_ = ['./cls_runtime.py']
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=1),
                     logger=dict(interval=100, log_metric_by_epoch=True))
log_processor = dict(by_epoch=True)

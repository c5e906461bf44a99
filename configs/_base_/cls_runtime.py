# Classification runtime: iteration counts as in the paper, logs of training loss/error
# every 20 iterations, checkpoints every 2000 (kept: 3; saved atomically). Validation
# metrics are logged at their iteration (MMEngine's default step is the epoch, always 0
# in an iteration-based run), as in MMDetection's iteration-based configs.
_base_ = ['./default_runtime.py']
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    checkpoint=dict(type='AtomicCheckpointHook', by_epoch=False, interval=2000,
                    max_keep_ckpts=3))
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)

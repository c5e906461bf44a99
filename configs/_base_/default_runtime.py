# Runtime shared by every task: MMDetection's registries (PaperResNet registers there),
# MMEngine's hooks, text + local visualizer backends.
default_scope = 'mmdet'
custom_imports = dict(imports=['mmresnet'], allow_failed_imports=False)

default_hooks = dict(
    # MMEngine's RuntimeInfoHook with the log values read from the device only when logged
    # (no host-device wait per iteration) and histories appended in O(1) (MMEngine's copy
    # the whole history per value: 12 ms per iteration after 600k iterations on our CPU);
    # same logs and checkpoints (tests/engine/test_sync_free.py)
    runtime_info=dict(type='LazyRuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Atomic saves (temp file + rename; old checkpoints deleted only after the new one is
    # on disk) and a stop on NaN/Inf loss before a diverged model can be saved.
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    nan_guard=dict(type='StopOnNonFiniteLossHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

vis_backends = [dict(type='LocalVisBackend')]
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False

# Runtime shared by every task: MMDetection's registries (PaperResNet registers there),
# MMEngine's hooks, text + local visualizer backends.
default_scope = 'mmdet'
custom_imports = dict(imports=['mmresnet'], allow_failed_imports=False)

default_hooks = dict(
    # MMEngine's RuntimeInfoHook with the log values read from the device only when logged
    # (no host-device wait per iteration) and histories appended in O(1) (MMEngine's copy
    # the whole history per value: 12 ms per iteration after 600k iterations on our CPU);
    # same logs and checkpoints (tests/engine/test_runtime_info.py)
    runtime_info=dict(type='LazyRuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Atomic saves (temp file + rename; old checkpoints deleted only after the new one is
    # on disk) and a stop on NaN/Inf loss before a diverged model can be saved.
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3),
    nan_guard=dict(type='StopOnNonFiniteLossHook'),
    # Every checkpoint carries its recipe (architecture, style, input normalisation); a
    # checkpoint loaded with load_from / --resume / tools/test.py is checked against the
    # model (check_normalisation=False loads weights trained with another normalisation).
    recipe=dict(type='RecipeHook'),
    # SIGTERM / SIGUSR1 (Slurm's --signal=USR1@120, preemption, torchrun): the current
    # iteration finishes, all ranks stop together, iter_N.pth is saved like the others and
    # the run exits with 75; --resume continues exactly, mid-epoch too
    # (docs/checkpoint_safety.md). Off: default_hooks = dict(preemption=None).
    preemption=dict(type='PreemptionHook'),
    # Every checkpoint says its world size, per-rank batch and data position; a run resumed
    # at another world size (tools/dist_train.sh's elastic mode, a node lost or joined)
    # keeps the per-rank batch, scales the lr by new/old ('keep_lr': keeps it) and continues
    # at the same sample of the data order (docs/elastic.md).
    elastic=dict(type='ElasticHook', on_world_size_change='scale_lr'),
    sampler_seed=dict(type='DistSamplerSeedHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

# The visualizer reads vis_backends: overriding this one variable in a config (or
# --cfg-options vis_backends=...) switches backends, e.g. TensorBoard beside the local
# scalars.json (pip install -e ".[tensorboard]"):
#   vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
# (tools/train.py and tools/test.py carry an overridden vis_backends into the visualizer:
# mmresnet.config.sync_vis_backends). No name: each runner gets a visualizer of its
# own, named after its run, as with MMEngine's default visualizer.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False

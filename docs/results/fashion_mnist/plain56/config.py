auto_scale_lr = dict(base_batch_size=128, enable=False)
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'mmresnet',
    ])
data_root = '/usr/share/datasets/fashion-mnist'
dataset_type = 'FashionMNISTDataset'
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False,
        interval=2400,
        max_keep_ckpts=3,
        type='AtomicCheckpointHook'),
    logger=dict(interval=20, log_metric_by_epoch=False, type='LoggerHook'),
    nan_guard=dict(interval=20, type='StopOnNonFiniteLossHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    runtime_info=dict(type='LazyRuntimeInfoHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'))
default_scope = 'mmdet'
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
launcher = 'none'
load_from = None
log_level = 'INFO'
log_processor = dict(by_epoch=False, type='LogProcessor', window_size=20)
model = dict(
    backbone=dict(
        arch='cifar',
        depth=56,
        in_channels=1,
        norm_eval=False,
        plain=True,
        shortcut='A',
        type='PaperResNet',
        zero_init_residual=False),
    data_preprocessor=dict(mean=[
        72.94,
    ], type='ClsDataPreprocessor'),
    num_classes=10,
    test_cfg=dict(protocol='single'),
    type='PaperResNetClassifier')
optim_wrapper = dict(
    dtype='bfloat16',
    optimizer=dict(lr=0.1, momentum=0.9, type='SGD', weight_decay=0.0001),
    type='AutocastOptimWrapper')
param_scheduler = [
    dict(
        by_epoch=False,
        gamma=0.1,
        milestones=[
            2400,
            3600,
        ],
        type='MultiStepLR'),
]
randomness = dict(seed=0)
resume = False
test_cfg = dict(type='TestLoop')
test_dataloader = dict(
    batch_size=500,
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        data_root='/usr/share/datasets/fashion-mnist',
        pipeline=[
            dict(type='PackClsInputs'),
        ],
        split='test',
        test_mode=True,
        type='FashionMNISTDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
test_evaluator = dict(
    topk=(
        1,
        5,
    ), type='TopKError')
test_pipeline = [
    dict(type='PackClsInputs'),
]
test_pipelines = dict(single=[
    dict(type='PackClsInputs'),
])
train_cfg = dict(
    max_iters=4800, type='DeviceIterBasedTrainLoop', val_interval=400)
train_dataloader = dict(
    batch_size=128,
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        data_root='/usr/share/datasets/fashion-mnist',
        pipeline=[
            dict(padding=4, size=28, type='RandomCropPad'),
            dict(direction='horizontal', prob=0.5, type='mmcv.RandomFlip'),
            dict(type='PackClsInputs'),
        ],
        split='train',
        type='FashionMNISTDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=True, type='InfiniteSampler'))
train_pipeline = [
    dict(padding=4, size=28, type='RandomCropPad'),
    dict(direction='horizontal', prob=0.5, type='mmcv.RandomFlip'),
    dict(type='PackClsInputs'),
]
val_cfg = dict(type='ValLoop')
val_dataloader = dict(
    batch_size=500,
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        data_root='/usr/share/datasets/fashion-mnist',
        pipeline=[
            dict(type='PackClsInputs'),
        ],
        split='test',
        test_mode=True,
        type='FashionMNISTDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(
    topk=(
        1,
        5,
    ), type='TopKError')
vis_backends = [
    dict(type='LocalVisBackend'),
]
work_dir = '/work/main/work_dirs/fmnist4800_plain56'

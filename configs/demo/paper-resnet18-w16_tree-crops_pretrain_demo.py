# Stage 1 of the CPU demo (tools/demo.py): classification pretraining of the demo
# detector's backbone, the role ImageNet plays in the paper (Sections 3.4, 4.3).
# A PaperResNet-18 (caffe style, option B, 16 base channels instead of 64) learns
# tree crown vs background on crops of the *training* tiles of data/demo_detection
# (DetectionCropDataset: each crown box and jittered copies with IoU >= 0.6, plus as
# many windows with IoU < 0.5 with every crown, the detector's own positive/negative rule;
# 1.25x context, warped to 64 px, about the tiles' scale). The validation tiles are never
# read.
# The paper's recipe otherwise: SGD momentum 0.9, wd 1e-4, He init, BN, per-pixel mean
# (BGR, the same normalisation as the detector), scale/crop/flip augmentation.
# Fastest path: crops held in memory, padded/cropped/flipped in the training loop
# (DeviceIterBasedTrainLoop), bf16 autocast where the CPU has it (AutocastOptimWrapper).
_base_ = ['../_base_/cls_runtime.py']
crop_size = 64
data_root = 'data/demo_detection/'
model = dict(
    type='PaperResNetClassifier',
    backbone=dict(type='PaperResNet', depth=18, arch='imagenet', style='caffe',
                  base_channels=16, zero_init_residual=False, norm_eval=False),
    num_classes=2,
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[103.53, 116.28, 123.675]))
train_pipeline = [
    dict(type='RandomCropPad', size=crop_size, padding=8),
    dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs')]
train_dataloader = dict(
    batch_size=64, num_workers=0,
    collate_fn=dict(type='default_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='DetectionCropDataset', data_root=data_root,
                 ann_file='annotations/instances_train.json', data_prefix=dict(img=''),
                 crop_size=crop_size, context=1.25, neg_iou=0.5, pipeline=train_pipeline))
# tools/demo.py reads its schedule from here (mmresnet.planning.schedule): max_iters the
# most (fewer where the crops need fewer), the batch, warm-up and steps at their fractions.
max_iters = 600
train_cfg = dict(type='DeviceIterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters + 1)
optim_wrapper = dict(
    type='AutocastOptimWrapper', dtype='bfloat16',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', by_epoch=False, milestones=[400, 520], gamma=0.1)]
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=max_iters, max_keep_ckpts=1),
                     nan_guard=dict(type='StopOnNonFiniteLossHook', interval=50))
log_processor = dict(window_size=50)
randomness = dict(seed=0)

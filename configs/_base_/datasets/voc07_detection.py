# PASCAL VOC 2007: train on 07 trainval, test on 07 test with the 11-point mAP of VOC 2007
# (the metric of the paper's Table 7), under data/VOCdevkit/VOC2007/.
# StrictVOCDataset: mmdet's VOCDataset that names bad annotations instead of dropping them.
# Shorter side 600, longer at most 1000 (Faster R-CNN's and the paper's scale).
dataset_type = 'StrictVOCDataset'
data_root = 'data/VOCdevkit/'
backend_args = None
train_pipeline = [
    dict(type='LoadDetImage', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadDetImage', backend_args=backend_args),
    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
voc07_trainval = dict(
    type=dataset_type, data_root=data_root,
    ann_file='VOC2007/ImageSets/Main/trainval.txt',
    data_prefix=dict(sub_data_root='VOC2007/'),
    filter_cfg=dict(filter_empty_gt=True, min_size=32),
    pipeline=train_pipeline, backend_args=backend_args)
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    # Repeated 3x per "epoch" as mmdet's VOC configs (short epochs, cheap restarts).
    dataset=dict(type='RepeatDataset', times=3, dataset=voc07_trainval))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True, pipeline=test_pipeline, backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points')
test_evaluator = val_evaluator

# COCO 2017 detection (train2017 / val2017) under data/coco/, read by StrictCocoDataset
# (mmdet's CocoDataset that names bad annotations instead of dropping them).
# Scale: the paper's Faster R-CNN setting, shorter side 600 and longer side at most 1000
# (Appendix A: single-scale training and testing as in Faster R-CNN); mmdet's stock COCO
# configs use (1333, 800).
dataset_type = 'StrictCocoDataset'
data_root = 'data/coco/'
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
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline, backend_args=backend_args))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True, pipeline=test_pipeline, backend_args=backend_args))
test_dataloader = val_dataloader
# Table 8 reports mAP@.5 and mAP@[.5, .95] on COCO val: CocoMetric gives both.
val_evaluator = dict(type='CocoMetric', ann_file=data_root +
                     'annotations/instances_val2017.json', metric='bbox',
                     format_only=False, backend_args=backend_args)
test_evaluator = val_evaluator

# The embedded demo data (data/demo_detection, see its LICENSE.md): 38 real NEON aerial
# photographs (400x400, 10 cm/pixel) with 762 hand-drawn tree-crown boxes, one class, from
# the deepforest package (MIT). 29 train / 9 val images; COCO JSON layout here, the same
# images are also in VOC XML layout (Annotations/, ImageSets/Main/) for StrictVOCDataset.
dataset_type = 'StrictCocoDataset'
data_root = 'data/demo_detection/'
metainfo = dict(classes=('tree', ), palette=[(0, 200, 0)])
train_pipeline = [
    dict(type='LoadDetImage'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(400, 400), keep_ratio=True),  # the tiles' own size
    # Seen from above, a tree is a tree upside down too: both flips are label-preserving.
    dict(type='RandomFlip', prob=[0.25, 0.25, 0.25],
         direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadDetImage'),
    dict(type='Resize', scale=(400, 400), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=2, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo,
        ann_file='annotations/instances_train.json', data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=3, num_workers=1, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, metainfo=metainfo,
        ann_file='annotations/instances_val.json', data_prefix=dict(img=''),
        test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json',
                     metric='bbox', format_only=False)
test_evaluator = val_evaluator

# The embedded demo data (data/demo_detection, see its LICENSE.md): 38 real NEON aerial
# photographs (400x400, 10 cm/pixel) with 762 hand-drawn tree-crown boxes, one class, from
# the deepforest package (MIT). 29 train / 9 val images; COCO JSON layout here, the same
# images are also in VOC XML layout (Annotations/, ImageSets/Main/) for StrictVOCDataset.
dataset_type = 'StrictCocoDataset'
data_root = 'data/demo_detection/'
metainfo = dict(classes=('tree', ), palette=[(0, 200, 0)])
# The tiles at twice their size: crowns are 15-70 px at 10 cm/pixel, and the demo detector's
# stride-16 map then has a cell per 8 tile pixels (as mmdet resizes COCO images to 800 px).
scale = (800, 800)
train_pipeline = [
    dict(type='LoadDetImage'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=scale, keep_ratio=True),
    # Seen from above, a tree is a tree upside down too: both flips are label-preserving.
    dict(type='RandomFlip', prob=[0.25, 0.25, 0.25],
         direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadDetImage'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
# Test-time augmentation (tools/test.py --tta, with a tta_model in the model config): the
# tile and its three flips.
tta_pipeline = [
    dict(type='LoadDetImage'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='Resize', scale=scale, keep_ratio=True)],
        [dict(type='RandomFlip', prob=1.0, direction=d)
         for d in ('horizontal', 'vertical', 'diagonal')]
        + [dict(type='RandomFlip', prob=0.0)],
        [dict(type='LoadAnnotations', with_bbox=True)],
        [dict(type='PackDetInputs',
              meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
                         'flip', 'flip_direction'))]])
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

# ImageNet as a class-per-folder tree (data/imagenet/train/<wnid>/*.JPEG, .../val/<wnid>/).
# Section 3.4: short side random in [256, 480], random 224 crop or its flip, per-pixel mean
# subtracted (preprocessor), AlexNet colour augmentation. Test protocols: single centre
# crop, standard 10-crop (from the 256-short-side image), fully-convolutional multi-scale
# (short sides {224, 256, 384, 480, 640}, batch 1); pick one with tools/test.py --protocol.
dataset_type = 'ImageFolderDataset'
data_root = 'data/imagenet'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='ResizeShortSide', size=(256, 480)),
    dict(type='RandomCropPad', size=224),
    dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PCALighting', std=0.1),
    dict(type='PackClsInputs'),
]
test_pipelines = dict(
    single=[dict(type='LoadImage'), dict(type='ResizeShortSide', size=256),
            dict(type='mmcv.CenterCrop', crop_size=224), dict(type='PackClsInputs')],
    ten_crop=[dict(type='LoadImage'), dict(type='ResizeShortSide', size=256),
              dict(type='TenCrop', size=224), dict(type='PackClsInputs')],
    multi_scale=[dict(type='LoadImage'), dict(type='PackClsInputs')])
test_pipeline = test_pipelines['single']
train_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True,
    # stacked in the workers: one shared-memory tensor per batch, not one per image
    collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root + '/train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root + '/val', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='TopKError', topk=(1, 5))
test_evaluator = val_evaluator

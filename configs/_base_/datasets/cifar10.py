# CIFAR-10 python batches (data_batch_1..5, test_batch) under data_root.
# Section 4.2: train on 45k, validate on the other 5k; pad 4, random 32 crop, flip;
# test on the single original 32x32 image.
dataset_type = 'CIFAR10Dataset'
data_root = 'data/cifar-10-batches-py'
train_pipeline = [
    dict(type='RandomCropPad', size=32, padding=4),
    dict(type='mmcv.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackClsInputs'),
]
test_pipeline = [dict(type='PackClsInputs')]
test_pipelines = dict(single=test_pipeline)
train_dataloader = dict(
    batch_size=128, num_workers=2, persistent_workers=True,
    # stacked in the workers: one shared-memory tensor per batch, not one per image
    collate_fn=dict(type='default_collate'),
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=500, num_workers=2, persistent_workers=True,
    collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=500, num_workers=2, persistent_workers=True,
    collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', test_mode=True,
                 pipeline=test_pipeline))
val_evaluator = dict(type='TopKError', topk=(1, 5))
test_evaluator = val_evaluator
